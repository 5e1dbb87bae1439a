"""The chaos run's own platform: a throwaway stack (Kafka, Temporal, Keycloak, PostgreSQL)
in a temp data dir on free ports — never a developer's ``./v2v up`` — and every role of
every service as its own process, so that each can be killed alone. Keycloak may be one
already running (``oidc_issuer``: the test suite's), as it is never a fault's target.

PostgreSQL, not SQLite: three processes write each service's database here (api, consumer,
relay), as in a cluster; SQLite would serialise them through its file lock and its busy
handler, and the relay in its own process could not be woken by commits (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from v2v_cli.commands.demo import endpoints_of
from v2v_cli.journeys import Endpoints
from v2v_cli.stack import Stack, StackConfig
from v2v_cli.stack.component import Component, Progress
from v2v_cli.stack.platform import DEMO_PRODUCT, SERVICES, Platform, ServiceProcess
from v2v_cli.stack.process import free_ports

# Journeys of the demo product on the chaos policy: deadlines beyond the longest recovery,
# so that a journey leaves its designed path only if something was lost (docs/operations.md).
CHAOS_POLICY = {DEMO_PRODUCT: "chaos"}
# The reference network's sites with room for a whole cohort: every journey of a run holds
# its infusion slot within the same 28 days from today (the journeys of weeks run in
# minutes), so the reference capacity (3 infusions a day) would run out after ~60 journeys
# and the chaos run would measure the network's capacity, not its recovery.
CHAOS_SLOTS_PER_DAY = 15
_STACK_PORTS = (
    "kafka_port",
    "kafka_controller_port",
    "temporal_port",
    "temporal_ui_port",
    "postgres_port",
    "keycloak_port",
    *(f"{service}_port" for service in SERVICES),
)


@dataclass
class ChaosPlatform:
    stack: Stack
    platform: Platform
    endpoints: dict[str, Any]

    @classmethod
    def start(
        cls, data_dir: Path, progress: Progress, oidc_issuer: str | None = None
    ) -> ChaosPlatform:
        roles = Platform.role_names()
        ports = free_ports(len(_STACK_PORTS) + len(roles))
        settings = dict(zip(_STACK_PORTS, ports, strict=False))
        config = StackConfig.from_env().replace(data_dir=data_dir, **settings)
        stack = Stack(config)
        try:
            endpoints = stack.up(postgres=True, progress=progress, keycloak=oidc_issuer is None)
            if oidc_issuer is not None:
                endpoints["oidc_issuer"] = oidc_issuer
            health = dict(zip(roles, ports[len(_STACK_PORTS) :], strict=True))
            network = write_network(data_dir / "chaos-network.json")
            logistics = {"V2V_NETWORK_CONFIG": str(network)}
            platform = Platform(stack, health, CHAOS_POLICY, {"logistics": logistics})
            platform.up(endpoints, progress)
        except BaseException:
            stack.purge()
            raise
        return cls(stack, platform, endpoints)

    def process(self, name: str) -> Component:
        """A server of the stack (``kafka``, ``temporal``) or a role (``custody-relay``)."""
        for comp in [*self.stack.components, *self.platform.components(self.endpoints)]:
            if comp.name == name:
                return comp
        raise LookupError(f"no process {name!r} in the chaos platform")

    @property
    def database_urls(self) -> dict[str, str]:
        return dict(self.endpoints["database_urls"])

    @property
    def api(self) -> Endpoints:
        return replace(endpoints_of(self.stack.config), issuer=self.endpoints["oidc_issuer"])

    async def stop_roles(self, *roles: str) -> None:
        """Stop (SIGTERM, side by side) the processes of ``roles`` (e.g. "relay"), or all."""

        def stop(comp: ServiceProcess) -> None:
            pid = comp.running_pid()
            if pid is not None:
                comp.stop(pid)
            comp.pid_file.unlink(missing_ok=True)

        comps = self.platform.components(self.endpoints)
        chosen = [c for c in comps if not roles or c.role in roles]
        await asyncio.gather(*(asyncio.to_thread(stop, c) for c in chosen))

    def close(self, keep: bool = False) -> None:
        """Stop everything; delete the data dir unless ``keep`` (to look at after a failure)."""
        self.platform.down()
        if keep:
            self.stack.down()
        else:
            self.stack.purge()


def write_network(path: Path, slots_per_day: int = CHAOS_SLOTS_PER_DAY) -> Path:
    """Logistics' packaged network with ``slots_per_day`` at every manufacturing site and
    treatment center (same sites, days and leads), as a configuration of its own version."""
    packaged = resources.files("v2v_logistics").joinpath("config", "network.v1.json")
    network = json.loads(packaged.read_text("utf-8"))
    network["config_version"] = f"{network['config_version']}-chaos"
    network["description"] = "The reference network with room for a chaos run's cohort."
    for site in network["manufacturing_sites"].values():
        site["slots_per_day"] = slots_per_day
    for center in network["treatment_centers"].values():
        center["infusion_slots_per_day"] = slots_per_day
    path.write_text(json.dumps(network, indent=2) + "\n")
    return path
