"""Process steps: fixed order, values checked, flags, the batch record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from v2v_batch.domain import STEP_ORDER, Step
from v2v_events.contracts.batch import StepRecorded
from v2v_runtime.testing import ServiceHarness

from .support import (
    COI,
    OPERATOR,
    OPERATOR_ID,
    T0,
    assert_problem,
    collect,
    open_batch,
    post_step,
    produce_lot,
    record_steps,
    step_body,
)


@pytest.mark.requirement("EU-Annex11.12.4", "EU-PartIV.6.4")
async def test_steps_in_order_build_the_batch_record(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    r = await post_step(client, batch_id, step_body(Step.SELECTION, retained_aliquots=2))
    assert r.status_code == 201
    assert r.json()["operator"] == {"user_id": OPERATOR_ID, "role": "cell-therapy-specialist"}
    assert r.json()["retained_aliquots"] == 2
    listed = (await client.get("/batches", params={"coi": COI})).json()
    assert listed[0]["status"] == "in-process"
    assert listed[0]["steps_done"] == ["selection"]
    assert listed[0]["next_step"] == "activation"

    for step in STEP_ORDER[1:]:
        r = await post_step(client, batch_id, step_body(step))
        assert r.status_code == 201, r.text

    record = (await client.get(f"/batches/{batch_id}")).json()
    assert [s["step"] for s in record["steps"]] == [s.value for s in STEP_ORDER]
    assert record["steps_done"] == [s.value for s in STEP_ORDER]
    assert record["next_step"] is None
    assert record["retained_aliquots"] == 2
    harvest = record["steps"][STEP_ORDER.index(Step.HARVEST)]
    assert harvest["equipment_id"] == "EQ-harvest"
    assert harvest["viable_cell_count"] == 2.5e9
    assert harvest["viability_pct"] == 91.0
    assert harvest["flags"] == []
    assert harvest["started_at"] == "2026-11-14T08:00:00Z"
    assert harvest["ended_at"] == "2026-11-14T14:00:00Z"
    assert harvest["operator"]["user_id"] == OPERATOR_ID

    published = await harness.published(StepRecorded)
    assert [p.step.value for p in published] == [s.value for s in STEP_ORDER]
    assert published[0].retained_aliquots == 2
    assert published[1].retained_aliquots is None
    assert all(p.actor.user_id == OPERATOR_ID and p.batch_id == batch_id for p in published)


@pytest.mark.requirement("21CFR11.10(f)", "EU-PartIV.9")
async def test_out_of_order_and_repeated_steps_are_conflicts(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    r = await post_step(client, batch_id, step_body(Step.ACTIVATION))
    body = assert_problem(r, 409, "step-out-of-order")
    assert body["expected_step"] == "selection"

    await record_steps(client, batch_id, Step.TRANSDUCTION)
    assert_problem(
        await post_step(client, batch_id, step_body(Step.TRANSDUCTION)),
        409,
        "step-already-recorded",
    )
    assert_problem(
        await post_step(client, batch_id, step_body(Step.SELECTION)), 409, "step-already-recorded"
    )
    assert_problem(
        await post_step(client, batch_id, step_body(Step.HARVEST)), 409, "step-out-of-order"
    )
    assert len(await harness.published(StepRecorded)) == 3


@pytest.mark.requirement("21CFR11.10(f)")
async def test_no_step_after_the_lot(harness: ServiceHarness, client: httpx.AsyncClient) -> None:
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id)
    await produce_lot(client, batch_id)
    r = await post_step(client, batch_id, step_body(Step.CRYOPRESERVATION))
    assert_problem(r, 409, "lot-already-produced")


@pytest.mark.parametrize(
    ("step", "overrides", "code"),
    [
        (
            Step.SELECTION,
            {"ended_at": (T0 - timedelta(minutes=1)).isoformat()},
            "step-ends-before-it-starts",
        ),
        (Step.SELECTION, {"ended_at": "2026-11-24T09:00:00+00:00"}, "step-ends-in-the-future"),
        (Step.SELECTION, {"viability_pct": 100.5}, "validation"),
        (Step.SELECTION, {"viability_pct": -1}, "validation"),
        (Step.SELECTION, {"viable_cell_count": -5}, "validation"),
        (Step.SELECTION, {"retained_aliquots": -1}, "validation"),
        (Step.SELECTION, {"started_at": "2026-11-10T08:00:00"}, "validation"),  # no offset
        (Step.SELECTION, {"step": "washing"}, "validation"),
        (Step.SELECTION, {"operator": "someone"}, "validation"),  # operator = the caller
        (Step.SELECTION, {"equipment_id": ""}, "validation"),
    ],
)
async def test_invalid_values_are_422(
    harness: ServiceHarness,
    client: httpx.AsyncClient,
    step: Step,
    overrides: dict[str, Any],
    code: str,
) -> None:
    batch_id = await open_batch(harness)
    r = await post_step(client, batch_id, step_body(step, **overrides))
    assert_problem(r, 422, code)
    assert await harness.published(StepRecorded) == []


async def test_retained_aliquots_only_at_selection(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id, Step.SELECTION)
    r = await post_step(client, batch_id, step_body(Step.ACTIVATION, retained_aliquots=1))
    assert_problem(r, 422, "retained-aliquots-only-at-selection")


async def test_harvest_needs_viability(harness: ServiceHarness, client: httpx.AsyncClient) -> None:
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id, Step.EXPANSION)
    r = await post_step(client, batch_id, step_body(Step.HARVEST, viability_pct=None))
    assert_problem(r, 422, "harvest-viability-required")


@pytest.mark.requirement("EU-PartIV.9")
@pytest.mark.parametrize(("viability", "flagged"), [(69.9, True), (70.0, False), (95.0, False)])
async def test_harvest_viability_below_the_configured_minimum_is_flagged(
    harness: ServiceHarness, client: httpx.AsyncClient, viability: float, flagged: bool
) -> None:
    batch_id = await open_batch(harness)  # default product: minimum 70 %
    await record_steps(client, batch_id, Step.EXPANSION)
    r = await post_step(client, batch_id, step_body(Step.HARVEST, viability_pct=viability))
    assert r.status_code == 201  # recorded either way
    codes = [f["code"] for f in r.json()["flags"]]
    assert codes == (["viability-below-minimum"] if flagged else [])
    record = (await client.get(f"/batches/{batch_id}")).json()
    assert [f["code"] for f in record["steps"][-1]["flags"]] == codes


async def test_flag_uses_the_products_own_minimum(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    body = {
        "coi": COI,
        "apheresis_unit_id": "APH-77",
        "din": "G123498654321",
        "manufacturing_site": "S",
        "product_code": "S1234",  # minimum 80 %
    }
    await collect(harness, "APH-77")
    batch_id = (await client.post("/batches", json=body, headers=OPERATOR)).json()["batch_id"]
    await record_steps(client, batch_id, Step.EXPANSION)
    r = await post_step(client, batch_id, step_body(Step.HARVEST, viability_pct=75))
    [flag] = r.json()["flags"]
    assert flag["code"] == "viability-below-minimum"
    assert "80 %" in flag["detail"] and "test-S1234-3" in flag["detail"]


@pytest.mark.requirement("21CFR11.10(d)", "EU-Annex11.12.1")
async def test_mutations_need_an_identity(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    calls = [
        ("/batches", {}),
        (f"/batches/{batch_id}/steps", step_body(Step.SELECTION)),
        (f"/batches/{batch_id}/lot", {"bag_count": 1, "total_viable_cells": 1, "viability_pct": 1}),
        ("/lots/nope/manufacturing-failure", {"reason": "x"}),
    ]
    for path, body in calls:
        r = await client.post(path, json=body, headers={"Authorization": "Bearer not-a-token"})
        problem = assert_problem(r, 401)
        assert problem["title"] == "Unauthenticated"
    assert await harness.published(StepRecorded) == []


async def test_unknown_batch_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/batches/nope"), 404, "batch-not-found")
    r = await post_step(client, "nope", step_body(Step.SELECTION))
    assert_problem(r, 404, "batch-not-found")
    assert_problem(await client.get("/batches", params={"coi": "bad"}), 422, "validation")


async def test_retained_aliquots_too_large_to_store_is_a_422(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    for count in (2**31, 2**63):
        r = await post_step(client, batch_id, step_body(Step.SELECTION, retained_aliquots=count))
        assert_problem(r, 422, "validation")


async def test_instants_outside_the_utc_range_are_a_422_problem(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    # Found by fuzzing: 0001-01-01T00:00:00+14:00 is valid ISO 8601 but lies before
    # 0001-01-01 in UTC; converting it for the database raised OverflowError (500).
    batch_id = await open_batch(harness)
    for edge in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        body = step_body(Step.SELECTION, started_at=edge, ended_at=edge)
        assert_problem(await post_step(client, batch_id, body), 422, "validation")
    assert await harness.published(StepRecorded) == []
