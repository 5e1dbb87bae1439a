"""For every POST operation of every service: a harness of the service and a way to bring it
to a state where the operation succeeds, built only from the HTTP API and the contracts
delivered through the inbox. The idempotency test walks the services' OpenAPI documents and
needs one scenario per documented POST: a new operation without one fails that test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from v2v_runtime.testing import ServiceHarness

from . import (
    posts_batch,
    posts_batch_environment,
    posts_batch_freezer,
    posts_batch_mbr,
    posts_batch_registers,
    posts_custody,
    posts_logistics,
    posts_qc,
    posts_qc_change,
)
from .support import Scenario

SERVICES: dict[str, tuple[Callable[[Path], ServiceHarness], dict[str, Scenario]]] = {
    "custody": (posts_custody.harness, posts_custody.SCENARIOS),
    "batch": (
        posts_batch.harness,
        posts_batch.SCENARIOS
        | posts_batch_registers.SCENARIOS
        | posts_batch_mbr.SCENARIOS
        | posts_batch_freezer.SCENARIOS
        | posts_batch_environment.SCENARIOS,
    ),
    "logistics": (posts_logistics.harness, posts_logistics.SCENARIOS),
    "qc": (posts_qc.harness, posts_qc.SCENARIOS | posts_qc_change.SCENARIOS),
}
SCENARIOS = {service: scenarios for service, (_, scenarios) in SERVICES.items()}


def harness(service: str, tmp_path: Path) -> ServiceHarness:
    return SERVICES[service][0](tmp_path)
