"""The platform's own processes on top of the stack: the four services (API + consumer +
relay in one process each, locally) and the journey (Temporal worker + bridge)."""

from __future__ import annotations

import asyncio
import json
import os
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

    def __init__(self, config: StackConfig, service: str, env: dict[str, str]) -> None:
        super().__init__(config)
        self.service = service
        self.name = service
        self.title = f"{service} service" if service != "journey" else "journey worker + bridge"
        self._env = env

    @property
    def port(self) -> int | None:
        value = getattr(self.config, f"{self.service}_port", None)
        return int(value) if value is not None else None

    @property
    def endpoint(self) -> str:
        return f"http://{LOCALHOST}:{self.port}" if self.port else "Temporal task queue v2v-journey"

    def ports(self) -> list[PortSetting]:
        return [PortSetting(self.port, f"{self.service}_port")] if self.port else []

    def marker(self) -> str:
        return f"v2v_{self.service}"

    def prepare(self, progress: Progress) -> None:
        return None

    def start(self) -> int:
        env = {**os.environ, **self._env}
        if self.port:
            env["V2V_HTTP_PORT"] = str(self.port)
        args = [sys.executable, "-m", f"v2v_{self.service}", "all"]
        return spawn_detached(args, self.log_file, env=env)

    async def probe(self) -> bool:
        if self.port is None:
            # The journey prints its ready line once the worker and the bridge run.
            return "journey ready" in tail(self.log_file, 400)
        # Only once the API listens: a connect to its port before that could self-connect.
        if not listening(self.port):
            return False
        return await asyncio.to_thread(_http_ok, f"{self.endpoint}/readyz")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback only)
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


class Platform:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.config = stack.config

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
            env.setdefault("V2V_POLICY_BY_PRODUCT", json.dumps(POLICY_BY_PRODUCT))
        return env

    def components(self, endpoints: dict[str, Any] | None = None) -> list[ServiceProcess]:
        eps = endpoints or self.stack.endpoints()
        return [ServiceProcess(self.config, s, self._env(s, eps)) for s in (*SERVICES, "journey")]

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


__all__ = ["SERVICES", "Platform", "ServiceProcess", "StackError"]
