"""``Stack``: start, check and stop the local servers, leaving alone what is not ours."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from typing import Any, Literal

from v2v_cli.stack.component import Component, Progress, bind_hint, check_ports, no_progress
from v2v_cli.stack.config import SERVICE_DATABASES, StackConfig, env_var
from v2v_cli.stack.errors import StackError
from v2v_cli.stack.kafka import KafkaBroker
from v2v_cli.stack.keycloak import KeycloakServer
from v2v_cli.stack.postgres import PostgresCluster
from v2v_cli.stack.process import pid_alive, read_pid, run_async, tail, write_pid
from v2v_cli.stack.storage import check_storage, held_storage, storage_of
from v2v_cli.stack.temporal import TemporalDevServer

State = Literal["running", "stopped", "unhealthy", "exited"]
# The one command for PostgreSQL storage, as the README gives it.
POSTGRES_COMMAND = "./v2v up --postgres"
# What `status` fails on (exit code 1): something started that does not answer, or is gone.
FAILING: frozenset[State] = frozenset({"unhealthy", "exited"})


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    state: State
    pid: int | None
    endpoint: str
    detail: str = ""


def exited_row(comp: Component) -> ComponentStatus | None:
    """The row of a component whose pid file outlived its process (crashed, killed, or the
    machine restarted); None when it was never started or was stopped by ``down``."""
    pid = read_pid(comp.pid_file)
    if pid is None:
        return None
    detail = f"pid {pid} is gone (see {comp.log_files()[-1]}); `./v2v up` starts it again"
    return ComponentStatus(comp.name, "exited", None, comp.endpoint, detail)


class Stack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig.from_env()
        self.kafka = KafkaBroker(self.config)
        self.temporal = TemporalDevServer(self.config)
        self.keycloak = KeycloakServer(self.config)
        self.postgres = PostgresCluster(self.config)

    @property
    def components(self) -> list[Component]:
        return [self.kafka, self.temporal, self.keycloak, self.postgres]

    def recorded_config(self) -> StackConfig | None:
        """The settings of the servers running from this data dir, as ``up`` recorded them."""
        try:
            data = json.loads(self.config.recorded_file.read_text())
            return StackConfig.from_json(data)
        except (OSError, ValueError, TypeError):
            return None

    def _live(self) -> Stack:
        """A view using the recorded settings, so ``status --data-dir X`` probes the ports the
        servers really use even when this process was given other (default) ports."""
        recorded = self.recorded_config()
        if recorded is None or recorded == self.config:
            return self
        return Stack(recorded)

    def _check_same_settings(self, comp: Component, pid: int) -> None:
        recorded = self.recorded_config()
        if recorded is None:
            return
        for port in comp.ports():
            was = getattr(recorded, port.setting)
            if was != port.port:
                raise StackError(
                    f"{comp.title} (pid {pid}) already runs from {self.config.data_dir} with "
                    f"{port.setting}={was}, but {port.port} was requested. Run `v2v stack down` "
                    f"first, or use the same setting ({env_var(port.setting)})."
                )

    def _record(self, wanted: list[Component]) -> None:
        record = self.config
        recorded = self.recorded_config()
        if recorded is not None:
            # Servers left running from an earlier `up` keep the ports they really have.
            for comp in self.components:
                if comp not in wanted and comp.running_pid() is not None:
                    record = record.replace(
                        **{p.setting: getattr(recorded, p.setting) for p in comp.ports()}
                    )
        self.config.recorded_file.write_text(json.dumps(record.to_json(), indent=2) + "\n")

    # up ---------------------------------------------------------------------------------------
    def up(
        self,
        postgres: bool = False,
        progress: Progress | None = None,
        *,
        kafka: bool = True,
        temporal: bool = True,
        keycloak: bool = True,
    ) -> dict[str, Any]:
        """Start what is not running yet, wait until everything answers, provision topics,
        search attributes and databases, and write endpoints.json. Safe to call again."""
        report = progress or no_progress
        # Before anything starts: a data dir keeps the storage its services hold data in.
        check_storage(self.config, self.postgres.cluster_dir, storage_of(postgres))
        wanted: list[Component] = [
            comp
            for comp, on in (
                (self.kafka, kafka),
                (self.temporal, temporal),
                (self.keycloak, keycloak),
                (self.postgres, postgres),
            )
            if on
        ]
        for directory in (self.config.logs_dir, self.config.run_dir, self.config.db_dir):
            directory.mkdir(parents=True, exist_ok=True)

        already: dict[Component, int] = {}
        to_start: list[Component] = []
        for comp in wanted:
            pid = comp.running_pid()
            if pid is None:
                comp.pid_file.unlink(missing_ok=True)  # stale, or a recycled pid not ours
                to_start.append(comp)
            else:
                self._check_same_settings(comp, pid)
                already[comp] = pid
                report(f"{comp.title} already running (pid {pid})")
        # Check every port before starting anything, so a clash leaves nothing half-started.
        check_ports(to_start)
        for comp in to_start:
            comp.prepare(report)

        started: dict[Component, int] = {}
        try:
            for comp in to_start:
                report(f"Starting {comp.title}…")
                started[comp] = comp.start()
                write_pid(comp.pid_file, started[comp])
            run_async(self._await_all({**already, **started}, report))
        except BaseException:
            # A half-started stack is worse than none: undo this call's starts only.
            for comp, pid in started.items():
                self._stop(comp, pid)
            raise

        self._record(wanted)
        endpoints = self.endpoints(postgres=postgres)
        self.config.endpoints_file.write_text(json.dumps(endpoints, indent=2) + "\n")
        return endpoints

    async def _await_all(self, pids: dict[Component, int], report: Progress) -> None:
        await asyncio.gather(*(self._await_ready(comp, pid, report) for comp, pid in pids.items()))

    async def _await_ready(self, comp: Component, pid: int, report: Progress) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + comp.ready_timeout
        while not await comp.probe():
            if not pid_alive(pid):
                raise StackError(
                    f"{comp.title} exited during start-up.{bind_hint(comp)}{self._logs_hint(comp)}"
                )
            if loop.time() > deadline:
                raise StackError(
                    f"{comp.title} (pid {pid}) did not answer on {comp.endpoint} within "
                    f"{comp.ready_timeout:.0f} s.{self._logs_hint(comp)}"
                )
            await asyncio.sleep(0.25)
        summary = await comp.after_ready(report)
        report(f"{comp.title} ready on {comp.endpoint}" + (f" ({summary})" if summary else ""))

    @staticmethod
    def _logs_hint(comp: Component) -> str:
        parts = []
        for log in comp.log_files():
            text = tail(log)
            parts.append(f"\n--- {log} ---\n{text}" if text else f"\nLog: {log}")
        return "".join(parts)

    # down -----------------------------------------------------------------------------------------
    def down(self, progress: Progress | None = None) -> list[str]:
        """Stop the servers recorded in our pid files; return the names stopped."""
        report = progress or no_progress
        stopped: list[str] = []
        for comp in reversed(self.components):
            pid = comp.running_pid()
            if pid is not None:
                report(f"Stopping {comp.title} (pid {pid})…")
                self._stop(comp, pid)
                stopped.append(comp.name)
            comp.pid_file.unlink(missing_ok=True)
        self.config.endpoints_file.unlink(missing_ok=True)
        self.config.recorded_file.unlink(missing_ok=True)
        return stopped

    @staticmethod
    def _stop(comp: Component, pid: int) -> None:
        comp.stop(pid)
        comp.pid_file.unlink(missing_ok=True)

    def purge(self) -> None:
        """Stop everything and delete all state (throwaway stacks of the test suite)."""
        extra = [p for comp in self.components for p in comp.purge_paths()]
        self.down()
        for path in (*extra, self.config.data_dir):
            shutil.rmtree(path, ignore_errors=True)

    # status ---------------------------------------------------------------------------------------
    def status(self) -> list[ComponentStatus]:
        return self._live()._status()

    def _status(self) -> list[ComponentStatus]:
        pids = {comp: comp.running_pid() for comp in self.components}
        live = [comp for comp, pid in pids.items() if pid is not None]
        answers = run_async(self._probe_all(live))
        rows: list[ComponentStatus] = []
        for comp, pid in pids.items():
            if pid is None:
                exited = exited_row(comp)
                detail = self._postgres_hint() if comp is self.postgres else ""
                rows.append(
                    exited or ComponentStatus(comp.name, "stopped", None, comp.endpoint, detail)
                )
            elif answers[comp]:
                rows.append(
                    ComponentStatus(comp.name, "running", pid, comp.endpoint, self._detail(comp))
                )
            else:
                hint = f"process alive but not answering; see {comp.log_files()[-1]}"
                rows.append(ComponentStatus(comp.name, "unhealthy", pid, comp.endpoint, hint))
        return rows

    def _postgres_hint(self) -> str:
        if held_storage(self.config, self.postgres.cluster_dir) == {"sqlite"}:
            return "not used: this data dir keeps its data in SQLite"
        return f"opt-in: {POSTGRES_COMMAND}"

    async def _probe_all(self, comps: list[Component]) -> dict[Component, bool]:
        results = await asyncio.gather(*(comp.probe() for comp in comps))
        return dict(zip(comps, results, strict=True))

    def _detail(self, comp: Component) -> str:
        if comp is self.temporal:
            return f"Web UI {self.config.temporal_ui_url}"
        if comp is self.postgres:
            return f"cluster {self.postgres.cluster_dir}"
        if comp is self.keycloak:
            return self.keycloak.detail()
        return f"data {self.kafka.storage_dir}"

    # endpoints ------------------------------------------------------------------------------------
    def endpoints(self, postgres: bool | None = None) -> dict[str, Any]:
        """Connection settings for tools and services. With ``postgres=None``: what the last
        ``up`` recorded, else the storage the services hold data in (or PostgreSQL URLs if
        our cluster runs)."""
        if postgres is None:
            try:
                recorded: dict[str, Any] = json.loads(self.config.endpoints_file.read_text())
                return recorded
            except (OSError, ValueError):
                held = held_storage(self.config, self.postgres.cluster_dir)
                postgres = held == {"postgres"} or self.postgres.running_pid() is not None
        cfg = self.config
        url = cfg.postgres_url if postgres else cfg.sqlite_url
        # The platform's databases only: the test runner's database is its own business
        # (a throwaway stack, or V2V_TEST_DATABASE_URL), never this data dir's.
        return {
            "data_dir": str(cfg.data_dir),
            "kafka_bootstrap": cfg.kafka_bootstrap,
            "temporal_address": cfg.temporal_address,
            "temporal_namespace": cfg.temporal_namespace,
            "temporal_ui_url": cfg.temporal_ui_url,
            "oidc_issuer": cfg.oidc_issuer,
            "storage": storage_of(postgres),
            "database_urls": {name: url(name) for name in SERVICE_DATABASES},
        }
