"""The stack, fresh databases and the platform's processes, for every measure."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from v2v_cli.journeys import Endpoints, demo_person
from v2v_cli.stack import Stack, StackConfig
from v2v_cli.stack.platform import Platform, ServiceProcess
from v2v_cli.stack.process import free_ports, tail, write_pid
from v2v_cli.testing import ProvisionedStack, provision_stack
from v2v_cli.tokens import TokenBroker

from .harness import progress
from .patients import facility_id

PLATFORM_SERVICES = ("custody", "logistics", "batch", "qc", "journey")


class Bench:
    """One run: the provisioned stack, a scratch directory, and fresh databases on demand."""

    def __init__(self, stack: ProvisionedStack, scratch: Path | None = None) -> None:
        self.stack = stack
        self.tag = uuid.uuid4().hex[:8]
        self._own_scratch = scratch is None
        self.scratch = scratch or Path(tempfile.mkdtemp(prefix="v2v-bench-"))
        self._tokens: TokenBroker | None = None

    async def headers(self, who: str) -> dict[str, str]:
        """Signed in as the demo user ``who`` at the stack's Keycloak (one login each)."""
        if self._tokens is None:
            assert self.stack.oidc_issuer, "the bench's stack runs Keycloak"
            self._tokens = TokenBroker(self.stack.oidc_issuer)
        return await self._tokens.headers(who)

    async def person(self, role: str, site: str) -> dict[str, str]:
        """Signed in as the demo user with ``role`` at ``site``."""
        return await self.headers(demo_person(role, site))

    async def database(self, db: str, name: str) -> str:
        """A new, empty database ``name`` of kind ``db`` (SQLite file or PostgreSQL)."""
        if db == "sqlite":
            folder = self.scratch / "db"
            folder.mkdir(parents=True, exist_ok=True)
            return f"sqlite+aiosqlite:///{folder}/{name}-{self.tag}.sqlite"
        if db == "postgresql":
            return await self.stack.create_database(f"bench_{name}_{self.tag}".replace("-", "_"))
        raise ValueError(f"unknown database kind {db!r}")

    def close(self) -> None:
        if self._own_scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


@asynccontextmanager
async def bench_stack(need_postgres: bool) -> AsyncIterator[Bench]:
    """Kafka, Temporal (and PostgreSQL) as the tests get them: V2V_TEST_* endpoints, Docker,
    or the native launcher on free ports in a temp dir (stopped and deleted at the end)."""
    progress(
        "provisioning the stack (Kafka, Temporal, Keycloak"
        + (", PostgreSQL)…" if need_postgres else ")…")
    )
    stack = await asyncio.to_thread(provision_stack, need_postgres, True)
    progress(f"stack ready: {stack.how}")
    bench = Bench(stack)
    try:
        yield bench
    finally:
        bench.close()
        await asyncio.to_thread(stack.close)


def _platform_config(data: Path, ports: Sequence[int]) -> StackConfig:
    return StackConfig.from_env().replace(
        data_dir=data,
        custody_port=ports[0],
        logistics_port=ports[1],
        batch_port=ports[2],
        qc_port=ports[3],
    )


async def _platform_endpoints(bench: Bench, db: str, services: Sequence[str]) -> dict[str, Any]:
    stack = bench.stack
    return {
        "kafka_bootstrap": stack.kafka_bootstrap,
        "temporal_address": stack.temporal_address,
        "temporal_namespace": stack.temporal_namespace,
        "oidc_issuer": stack.oidc_issuer,
        "database_urls": {s: await bench.database(db, f"platform-{s}") for s in services},
    }


def _log_tails(folder: Path) -> None:
    for log in sorted(folder.glob("*.log")):
        print(f"--- {log.name} (last lines) ---\n{tail(log, 25)}", flush=True)


@asynccontextmanager
async def running_platform(bench: Bench, db: str) -> AsyncIterator[Endpoints]:
    """The four services and the journey, each its own OS process, as ``v2v up`` runs them
    (and as tests/integration/conftest.py's ``platform`` fixture does)."""
    data = bench.scratch / f"platform-{db}"
    config = _platform_config(data, free_ports(4))
    endpoints = await _platform_endpoints(bench, db, PLATFORM_SERVICES)
    plat = Platform(Stack(config))
    progress(f"starting the platform ({db}): custody, logistics, batch, qc, journey…")
    ok = False
    # Inherited by the processes (as the tests pass V2V_TRACE_FILE): CoIs of their own.
    saved = os.environ.get("V2V_FACILITY_ID")
    os.environ["V2V_FACILITY_ID"] = facility_id("P")
    try:
        await asyncio.to_thread(plat.up, endpoints, progress)
        _restore("V2V_FACILITY_ID", saved)
        progress("platform ready")
        local = "http://127.0.0.1"
        yield Endpoints(
            custody=f"{local}:{config.custody_port}",
            logistics=f"{local}:{config.logistics_port}",
            batch=f"{local}:{config.batch_port}",
            qc=f"{local}:{config.qc_port}",
            issuer=str(bench.stack.oidc_issuer),
        )
        ok = True
    finally:
        _restore("V2V_FACILITY_ID", saved)
        await asyncio.to_thread(plat.down)
        if not ok:
            _log_tails(config.logs_dir)


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@asynccontextmanager
async def service_process(
    bench: Bench, service: str, database_url: str, env: dict[str, str] | None = None
) -> AsyncIterator[str]:
    """One service alone as its own process (API, consumer and relay, as ``v2v up`` runs it);
    yields its base URL."""
    data = bench.scratch / f"{service}-{uuid.uuid4().hex[:6]}"
    config = _platform_config(data, free_ports(4))
    settings = {
        "V2V_SERVICE": service,
        "V2V_KAFKA_BOOTSTRAP_SERVERS": bench.stack.kafka_bootstrap,
        "V2V_TEMPORAL_ADDRESS": bench.stack.temporal_address,
        "V2V_DATABASE_URL": database_url,
        "V2V_OIDC_ISSUER": str(bench.stack.oidc_issuer),
        "V2V_LOG_JSON": "true",
        **(env or {}),
    }
    comp = ServiceProcess(config, service, settings)
    pid = comp.start()
    write_pid(comp.pid_file, pid)
    ok = False
    try:
        await _until_ready(comp.probe, comp.ready_timeout, f"{service} ({comp.log_file})")
        progress(f"{service} process ready at {comp.endpoint}")
        yield comp.endpoint
        ok = True
    finally:
        await asyncio.to_thread(comp.stop, pid)
        if not ok:
            _log_tails(config.logs_dir)


async def _until_ready(probe: Callable[[], Awaitable[bool]], wait_s: float, what: str) -> None:
    deadline = time.monotonic() + wait_s
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {wait_s:.0f} s")
        await asyncio.sleep(0.2)
