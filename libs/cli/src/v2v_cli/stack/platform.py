"""The platform's own processes on top of the stack: the four services (API + consumer +
relay in one process each, locally) and the journey (Temporal worker + bridge).

With ``health_ports`` the platform runs each role as its own process instead, as a cluster
does (one Deployment per role): api, consumer and relay of each service, the journey's
worker and bridge, each answering /readyz (the api on its service's port, the others on
their health port), so that one role can fail alone (``v2v chaos``)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

from v2v_cli.stack.component import Component, PortSetting, Progress, check_ports, no_progress
from v2v_cli.stack.config import LOCALHOST, StackConfig
from v2v_cli.stack.errors import StackError
from v2v_cli.stack.launcher import ComponentStatus, Stack, State, exited_row
from v2v_cli.stack.ports import listening
from v2v_cli.stack.process import pid_alive, run_async, spawn_detached, tail, write_pid
from v2v_cli.stack.storage import claim_storage
from v2v_cli.tokens import DEMO_SECRETS, SIGNING_CLIENT

SERVICES = ("custody", "logistics", "batch", "qc")
SERVICE_ROLES = ("api", "consumer", "relay")
JOURNEY_ROLES = ("worker", "bridge")
# Journeys of the demo product run on the demo policy (deadlines in seconds).
DEMO_PRODUCT = "S9DEMO"
POLICY_BY_PRODUCT = {DEMO_PRODUCT: "demo"}


# Stopping or probing a process needs its pid file and port, not where it connects.
_NO_ENDPOINTS: dict[str, Any] = {
    "kafka_bootstrap": "",
    "temporal_address": "",
    "temporal_namespace": "",
    "oidc_issuer": "",
    "database_urls": {},
}


class ServiceProcess(Component):
    ready_timeout = 90.0

    def __init__(
        self,
        config: StackConfig,
        service: str,
        env: dict[str, str],
        role: str = "all",
        health_port: int | None = None,
    ) -> None:
        super().__init__(config)
        self.service = service
        self.role = role
        self.health_port = health_port
        self.name = service if role == "all" else f"{service}-{role}"
        if role != "all":
            self.title = f"{service} {role}"
        else:
            self.title = f"{service} service" if service != "journey" else "journey worker + bridge"
        self._env = env

    @property
    def port(self) -> int | None:
        """The API's port (None for roles without the API)."""
        if self.role not in ("all", "api"):
            return None
        value = getattr(self.config, f"{self.service}_port", None)
        return int(value) if value is not None else None

    @property
    def endpoint(self) -> str:
        if self.port:
            return f"http://{LOCALHOST}:{self.port}"
        if self.health_port:
            return f"http://{LOCALHOST}:{self.health_port}/readyz"
        return "Temporal task queue v2v-journey"

    def ports(self) -> list[PortSetting]:
        return [PortSetting(self.port, f"{self.service}_port")] if self.port else []

    def marker(self) -> str:
        # The role too: the processes of one service differ only by it.
        return f"v2v_{self.service}" if self.role == "all" else f"v2v_{self.service} {self.role}"

    def prepare(self, progress: Progress) -> None:
        return None

    def start(self) -> int:
        env = {**os.environ, **self._env}
        if self.port:
            env["V2V_HTTP_PORT"] = str(self.port)
        if self.health_port:
            env["V2V_HEALTH_PORT"] = str(self.health_port)
        args = [sys.executable, "-m", f"v2v_{self.service}", self.role]
        return spawn_detached(args, self.log_file, env=env)

    async def probe(self) -> bool:
        port = self.port or self.health_port
        if port is None:
            # The journey prints its ready line once the worker and the bridge run.
            return "journey ready" in tail(self.log_file, 400)
        # Only once it listens: a connect to its port before that could self-connect.
        if not listening(port):
            return False
        return await asyncio.to_thread(_http_ok, f"http://{LOCALHOST}:{port}/readyz")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback only)
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


class Platform:
    def __init__(
        self,
        stack: Stack,
        health_ports: dict[str, int] | None = None,
        policy_by_product: dict[str, str] | None = None,
        settings: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.stack = stack
        self.config = stack.config
        # Role per process (see the module); keys are the names of ``role_names()``.
        self.health_ports = health_ports
        self.policy_by_product = policy_by_product or POLICY_BY_PRODUCT
        # More settings (environment) by service, e.g. logistics' V2V_NETWORK_CONFIG.
        self.settings = settings or {}

    @staticmethod
    def role_names() -> list[str]:
        """The processes that answer on a health port in the role-per-process mode."""
        return [
            *(f"{s}-{r}" for s in SERVICES for r in SERVICE_ROLES if r != "api"),
            *(f"journey-{r}" for r in JOURNEY_ROLES),
        ]

    def _env(self, service: str, endpoints: dict[str, Any]) -> dict[str, str]:
        env = {
            "V2V_SERVICE": service,
            "V2V_KAFKA_BOOTSTRAP_SERVERS": endpoints["kafka_bootstrap"],
            "V2V_TEMPORAL_ADDRESS": endpoints["temporal_address"],
            "V2V_LOG_JSON": "true",
        }
        if service in endpoints["database_urls"]:
            env["V2V_DATABASE_URL"] = endpoints["database_urls"][service]
        if service != "journey":  # the APIs trust the platform's OpenID Connect provider
            env["V2V_OIDC_ISSUER"] = endpoints["oidc_issuer"]
            # Signers re-authenticate through the demo realm's signing client.
            env["V2V_SIGNING_CLIENT_SECRET"] = DEMO_SECRETS[SIGNING_CLIENT]
        if service == "journey":
            env["V2V_TEMPORAL_NAMESPACE"] = endpoints["temporal_namespace"]
            env["V2V_POLICY_BY_PRODUCT"] = json.dumps(self.policy_by_product)
        if self.health_ports is not None:
            # Several processes share each database: it is migrated once, before they start.
            env["V2V_MIGRATE_ON_START"] = "false"
        return {**env, **self.settings.get(service, {})}

    def components(self, endpoints: dict[str, Any] | None = None) -> list[ServiceProcess]:
        eps = endpoints or self.stack.endpoints()
        if self.health_ports is None:
            return [
                ServiceProcess(self.config, s, self._env(s, eps)) for s in (*SERVICES, "journey")
            ]
        ports = self.health_ports
        procs = []
        for service in (*SERVICES, "journey"):
            env = self._env(service, eps)
            for role in JOURNEY_ROLES if service == "journey" else SERVICE_ROLES:
                port = ports.get(f"{service}-{role}")
                procs.append(ServiceProcess(self.config, service, env, role, port))
        return procs

    def migrate(self, endpoints: dict[str, Any]) -> None:
        """Bring every service's schema up to date (``python -m v2v_<service> migrate``),
        the services side by side."""
        running = []
        for service in (*SERVICES, "journey"):
            env = {**os.environ, **self._env(service, endpoints)}
            args = [sys.executable, "-m", f"v2v_{service}", "migrate"]
            running.append(
                (
                    service,
                    subprocess.Popen(
                        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                    ),
                )
            )
        failed = []
        for service, proc in running:
            out, _ = proc.communicate()
            if proc.returncode != 0:
                failed.append(f"{service}: {out.strip()[-1500:]}")
        if failed:
            raise StackError("migrating the platform's databases failed:\n" + "\n".join(failed))

    def up(self, endpoints: dict[str, Any], progress: Progress | None = None) -> None:
        report = progress or no_progress
        comps = self.components(endpoints)
        to_start = []
        for comp in comps:
            pid = comp.running_pid()
            if pid is not None:
                report(f"{comp.title} already running (pid {pid})")
                continue
            comp.pid_file.unlink(missing_ok=True)
            to_start.append(comp)
        check_ports(to_start)
        if to_start and "storage" in endpoints:
            # From the first start on, custody may issue CoIs in this storage.
            claim_storage(self.config, self.stack.postgres.cluster_dir, endpoints["storage"])
        if to_start and self.health_ports is not None:
            self.migrate(endpoints)
        started: dict[Component, int] = {}
        try:
            for comp in to_start:
                report(f"Starting {comp.title}…")
                started[comp] = comp.start()
                write_pid(comp.pid_file, started[comp])
            run_async(self.stack._await_all(dict(started), report))
        except BaseException:
            for proc, pid in started.items():
                proc.stop(pid)
                proc.pid_file.unlink(missing_ok=True)
            raise

    def down(self, progress: Progress | None = None) -> list[str]:
        report = progress or no_progress
        stopped = []
        for comp in reversed(self.components(_NO_ENDPOINTS)):
            pid = comp.running_pid()
            if pid is not None:
                report(f"Stopping {comp.title} (pid {pid})…")
                comp.stop(pid)
                stopped.append(comp.name)
            comp.pid_file.unlink(missing_ok=True)
        return stopped

    def status(self) -> list[ComponentStatus]:
        comps = self.components(_NO_ENDPOINTS)
        rows = []
        for comp in comps:
            pid = comp.running_pid()
            if pid is None:
                rows.append(
                    exited_row(comp) or ComponentStatus(comp.name, "stopped", None, comp.endpoint)
                )
                continue
            ok = run_async(comp.probe()) and pid_alive(pid)
            state: State = "running" if ok else "unhealthy"
            log = comp.log_file.relative_to(self.config.data_dir)
            detail = f"log {log}" if ok else f"not answering; see {comp.log_file}"
            rows.append(ComponentStatus(comp.name, state, pid, comp.endpoint, detail))
        return rows


__all__ = ["JOURNEY_ROLES", "SERVICES", "SERVICE_ROLES", "Platform", "ServiceProcess", "StackError"]
