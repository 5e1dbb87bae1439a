"""What the launcher needs from each server it runs (Kafka, Temporal, PostgreSQL)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from v2v_cli.stack.config import StackConfig, env_var
from v2v_cli.stack.errors import PortInUseError, PortUnavailableError
from v2v_cli.stack.ports import ephemeral_range, in_ephemeral_range, port_bindable, port_in_use
from v2v_cli.stack.process import owned_pid, stop_process, tail

Progress = Callable[[str], None]


def no_progress(_: str) -> None:
    """Progress sink that discards messages."""


@dataclass(frozen=True)
class PortSetting:
    port: int
    setting: str  # the StackConfig field that chooses it


class Component(ABC):
    name: str  # file names and status rows
    title: str  # progress messages
    ready_timeout: float = 60.0

    def __init__(self, config: StackConfig) -> None:
        self.config = config

    @property
    def pid_file(self) -> Path:
        return self.config.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.config.logs_dir / f"{self.name}.log"

    def log_files(self) -> list[Path]:
        """Where to look when the server misbehaves (quoted in error messages)."""
        return [self.log_file]

    @property
    @abstractmethod
    def endpoint(self) -> str: ...

    @abstractmethod
    def ports(self) -> list[PortSetting]: ...

    @abstractmethod
    def marker(self) -> str:
        """A string only our instance has on its command line (pid-reuse guard)."""

    def running_pid(self) -> int | None:
        return owned_pid(self.pid_file, self.marker())

    @abstractmethod
    def prepare(self, progress: Progress) -> None:
        """One-off work before the first start (downloads, formatting, initdb)."""

    @abstractmethod
    def start(self) -> int:
        """Start the server detached and return the pid to record."""

    @abstractmethod
    async def probe(self) -> bool:
        """One quick health check: True when the server answers."""

    async def after_ready(self, progress: Progress) -> str:
        """Idempotent provisioning once the server answers; returns a short summary."""
        return ""

    def stop(self, pid: int) -> None:
        stop_process(pid)

    def purge_paths(self) -> list[Path]:
        """State kept outside the data dir, removed when a throwaway stack is purged."""
        return []


def check_ports(components: Iterable[Component]) -> None:
    """Refuse, before anything starts, a port someone else's server listens on or one a
    server could not bind now; each error names the setting that chooses another port."""
    for comp in components:
        for port in comp.ports():
            var = env_var(port.setting)
            if port_in_use(port.port):
                raise PortInUseError(comp.title, port.port, port.setting, var)
            if not port_bindable(port.port):
                eph = ephemeral_range() if in_ephemeral_range(port.port) else None
                raise PortUnavailableError(comp.title, port.port, port.setting, var, eph)


def bind_hint(comp: Component) -> str:
    """What to do when the server's log says it could not bind its port ('' otherwise)."""
    if not any("Address already in use" in tail(log, 200) for log in comp.log_files()):
        return ""
    ports = ", ".join(f"{p.port} ({env_var(p.setting)})" for p in comp.ports())
    low, high = ephemeral_range()
    risky = [p.port for p in comp.ports() if in_ephemeral_range(p.port)]
    hint = f"\nIt could not bind one of its ports: {ports}."
    if risky:
        hint += (
            f" {', '.join(map(str, risky))} lie(s) in the kernel's ephemeral port range "
            f"{low}-{high}, from which outgoing connections take their source ports: "
            "choose ports outside it."
        )
    return hint
