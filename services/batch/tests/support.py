"""Test data and helpers of the batch service tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from v2v_batch.domain import STEP_ORDER, Step
from v2v_events.contracts.batch import BatchOpened, OpenBatch
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import CollectionRecorded
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, as_user, signed

COI = "CHA1B2C26000123"
OTHER_COI = "CHA1B2C26000999"
DIN = "G123498654321"
UNIT = "APH-0001"
SITE = "SITE-BERLIN-1"
JOURNEY = Actor(user_id="journey", role="system")
# The people of these tests (their own logins: as_user's registry is shared by every test
# module, and signing finds people there). The operator performs and signs steps; the
# verifier, a second person, verifies them — on the operator's session (one tablet).
OPERATOR_ID, VERIFIER_ID = "u-batch-operator", "u-batch-verifier"
OPERATOR = as_user(OPERATOR_ID, "cell-therapy-specialist", name="Olga Operator")
VERIFIER = as_user(VERIFIER_ID, "manufacturing-supervisor", name="Vera Verifier")
# The harness clock starts at 2026-11-24 08:00 UTC; steps are recorded after they ended.
T0 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)

CONFIG = {
    "format": "v2v-batch-products/1",
    "products": {
        "default": {
            "config_version": "test-default-1",
            "lot_shelf_life_days": 365,
            "min_harvest_viability_pct": 70,
            "max_bags_per_lot": 10,
            # verified_steps not given: the critical steps (transduction, harvest,
            # formulation, cryopreservation)
        },
        "S1234": {
            "config_version": "test-S1234-3",
            "lot_shelf_life_days": 180,
            "min_harvest_viability_pct": 80,
            "max_bags_per_lot": 4,
            "verified_steps": ["cryopreservation", "harvest"],
        },
    },
}


def collection(unit: str = UNIT, coi: str = COI, din: str = DIN) -> CollectionRecorded:
    """Custody's event that tells batch the unit exists, for which CoI and DIN."""
    return CollectionRecorded(
        coi=coi,
        din=din,
        din_check="H",
        unit_id=unit,
        apheresis_center="apheresis-center-1",
        volume_ml=240.0,
        total_nucleated_cells=1.2e10,
        collection_started_at=T0 - timedelta(hours=5),
        collection_ended_at=T0 - timedelta(hours=1),
        actor=Actor(user_id="u-aph-3", role="apheresis-nurse"),
    )


async def collect(
    harness: ServiceHarness, unit: str = UNIT, coi: str = COI, din: str = DIN
) -> None:
    """Deliver custody's CollectionRecorded for ``unit`` (as batch's inbox receives it)."""
    outcome = await harness.deliver(collection(unit, coi, din), subject=coi)
    assert outcome is Outcome.PROCESSED, outcome


def open_cmd(attempt: int = 1, unit: str = UNIT, coi: str = COI) -> OpenBatch:
    return OpenBatch(
        coi=coi,
        apheresis_unit_id=unit,
        din=DIN,
        manufacturing_site=SITE,
        attempt=attempt,
        actor=JOURNEY,
    )


async def open_batch(harness: ServiceHarness, attempt: int = 1, unit: str = UNIT) -> str:
    """A batch opened by the journey's command from a unit custody has collected."""
    # One message per unit: a second batch of the same unit finds it a duplicate.
    await harness.deliver(collection(unit), subject=COI, id=f"collected-{unit}")
    await harness.deliver(open_cmd(attempt, unit), subject=COI)
    opened = [o for o in await harness.published(BatchOpened) if o.attempt == attempt]
    return opened[-1].batch_id


def step_body(step: Step, /, **overrides: Any) -> dict[str, Any]:
    i = STEP_ORDER.index(step)
    body: dict[str, Any] = {
        "step": step.value,
        "equipment_id": f"EQ-{step.value}",
        "started_at": (T0 + timedelta(days=i)).isoformat(),
        "ended_at": (T0 + timedelta(days=i, hours=6)).isoformat(),
    }
    if step is Step.HARVEST:
        body |= {"viable_cell_count": 2.5e9, "viability_pct": 91.0}
    body |= overrides
    return {k: v for k, v in body.items() if v is not None}


async def post_step(
    client: httpx.AsyncClient,
    batch_id: str,
    body: dict[str, Any],
    headers: dict[str, str] = OPERATOR,
    **sign: Any,
) -> httpx.Response:
    """Record a step as its performer does: shown the content (428), then signed."""
    return await signed(client, f"/batches/{batch_id}/steps", body, headers, **sign)


async def verify(
    client: httpx.AsyncClient,
    batch_id: str,
    step: Step | str,
    session: dict[str, str] = OPERATOR,
    signer: str = VERIFIER_ID,
    **sign: Any,
) -> httpx.Response:
    """A second person (``signer``) verifies ``step`` on ``session``'s tablet."""
    url = f"/batches/{batch_id}/steps/{Step(step).value}/verification"
    return await signed(client, url, {}, session, signer=signer, **sign)


async def record_steps(
    client: httpx.AsyncClient,
    batch_id: str,
    upto: Step = Step.CRYOPRESERVATION,
    *,
    verified: bool = True,
    **selection: Any,
) -> None:
    """Record (signed by the operator) every step from selection through ``upto``
    (selection takes overrides); ``verified``: the verifier verifies each that needs it."""
    for step in STEP_ORDER[: STEP_ORDER.index(upto) + 1]:
        extra = selection if step is Step.SELECTION else {}
        r = await post_step(client, batch_id, step_body(step, **extra))
        assert r.status_code == 201, r.text
        if verified and r.json()["verification_required"]:
            v = await verify(client, batch_id, step)
            assert v.status_code == 201, v.text


LOT = {"bag_count": 3, "total_viable_cells": 4.0e8, "viability_pct": 88.5}


async def produce_lot(client: httpx.AsyncClient, batch_id: str, **overrides: Any) -> dict[str, Any]:
    r = await client.post(f"/batches/{batch_id}/lot", json=LOT | overrides, headers=OPERATOR)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    if code is not None:
        assert body["type"] == f"urn:vein2vein:problem:{code}", body
    return body
