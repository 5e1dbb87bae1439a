"""The final lot: produced after cryopreservation, expiry from configuration, rejection."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from v2v_batch.domain import Step
from v2v_events.contracts.batch import LotProduced, LotRejected, ManufacturingFailed, RejectLot
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, as_user

from .support import (
    COI,
    DIN,
    JOURNEY,
    LOT,
    OPERATOR,
    OPERATOR_ID,
    OTHER_COI,
    SITE,
    assert_problem,
    collect,
    open_batch,
    post_step,
    produce_lot,
    record_steps,
    step_body,
    verify,
)

SUPERVISOR_ID = "u-batch-supervisor"
SUPERVISOR = as_user(SUPERVISOR_ID, "manufacturing-supervisor")  # records a failed lot
QA = as_user("u-qa", "qa-reviewer")
CRYO_ENDED = datetime.fromisoformat(step_body(Step.CRYOPRESERVATION)["ended_at"])


@pytest.mark.requirement("21CFR11.10(f)")
async def test_lot_only_after_cryopreservation(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    r = await client.post(f"/batches/{batch_id}/lot", json=LOT, headers=OPERATOR)
    assert_problem(r, 409, "cryopreservation-not-recorded")
    await record_steps(client, batch_id, Step.FORMULATION)
    r = await client.post(f"/batches/{batch_id}/lot", json=LOT, headers=OPERATOR)
    assert_problem(r, 409, "cryopreservation-not-recorded")
    assert await harness.published(LotProduced) == []

    await record_steps_from(client, batch_id, Step.CRYOPRESERVATION)
    lot = await produce_lot(client, batch_id)
    assert lot["status"] == "quarantined"
    r = await client.post(f"/batches/{batch_id}/lot", json=LOT, headers=OPERATOR)
    assert_problem(r, 409, "lot-already-produced")
    assert len(await harness.published(LotProduced)) == 1


async def record_steps_from(client: httpx.AsyncClient, batch_id: str, step: Step) -> None:
    r = await post_step(client, batch_id, step_body(step))
    assert r.status_code == 201, r.text
    v = await verify(client, batch_id, step)
    assert v.status_code == 201, v.text


@pytest.mark.requirement("EU-PartIV.6.4")
async def test_lot_expires_the_configured_shelf_life_after_cryopreservation(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)  # default product: 365 days
    await record_steps(client, batch_id, retained_aliquots=2)
    lot = await produce_lot(client, batch_id)
    assert lot["bag_count"] == 3 and len(set(lot["bag_ids"])) == 3
    assert datetime.fromisoformat(lot["produced_at"]) == CRYO_ENDED
    assert datetime.fromisoformat(lot["expires_at"]) == CRYO_ENDED + timedelta(days=365)
    assert lot["retained_aliquots_remaining"] == 2
    assert lot["produced_by"]["user_id"] == OPERATOR_ID

    [event] = await harness.published(LotProduced)
    assert event.lot_id == lot["lot_id"]
    assert event.batch_id == batch_id
    assert event.bag_ids == lot["bag_ids"]
    assert event.expires_at == CRYO_ENDED + timedelta(days=365)
    assert event.retained_aliquots_remaining == 2
    assert event.manufacturing_site == SITE
    assert event.attempt == 1
    assert event.actor.user_id == OPERATOR_ID

    assert (await client.get(f"/lots/{lot['lot_id']}")).json() == lot
    record = (await client.get(f"/batches/{batch_id}")).json()
    assert record["status"] == "lot-produced"
    assert record["lot_id"] == lot["lot_id"]
    assert record["lot"] == lot


async def test_product_configuration_sets_shelf_life_and_bag_limit(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    body = {
        "coi": COI,
        "apheresis_unit_id": "APH-9",
        "din": DIN,
        "manufacturing_site": SITE,
        "product_code": "S1234",  # 180 days, at most 4 bags
    }
    await collect(harness, "APH-9")
    batch_id = (await client.post("/batches", json=body, headers=OPERATOR)).json()["batch_id"]
    await record_steps(client, batch_id)
    r = await client.post(f"/batches/{batch_id}/lot", json=LOT | {"bag_count": 5}, headers=OPERATOR)
    assert_problem(r, 422, "bag-count-out-of-range")
    lot = await produce_lot(client, batch_id, bag_count=4)
    assert datetime.fromisoformat(lot["expires_at"]) == CRYO_ENDED + timedelta(days=180)


async def test_invalid_lot_values_are_422(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id)
    for bad in (
        {"bag_count": 0},
        {"bag_count": 11},
        {"total_viable_cells": 0},
        {"viability_pct": 101},
    ):
        r = await client.post(f"/batches/{batch_id}/lot", json=LOT | bad, headers=OPERATOR)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert await harness.published(LotProduced) == []


def reject_cmd(lot_id: str, coi: str = COI) -> RejectLot:
    return RejectLot(
        coi=coi, lot_id=lot_id, reason="OOS: viability", deviation_id="DEV-1", actor=JOURNEY
    )


async def test_deprecated_reject_command_records_a_manufacturing_failure_once(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    # RejectLot still on the topic from before issue 16: recorded as manufacturing's
    # finding, never as a rejection (disposition is QA's, in QC)
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id)
    lot_id = (await produce_lot(client, batch_id))["lot_id"]

    assert await harness.deliver(reject_cmd(lot_id), subject=COI, id="rej-1") is Outcome.PROCESSED
    assert await harness.deliver(reject_cmd(lot_id), subject=COI, id="rej-2") is Outcome.PROCESSED
    assert await harness.published(LotRejected) == []
    [failed] = await harness.published(ManufacturingFailed)
    assert (failed.lot_id, failed.batch_id) == (lot_id, batch_id)
    assert (failed.reason, failed.deviation_id, failed.actor) == (
        "OOS: viability",
        "DEV-1",
        JOURNEY,
    )

    lot = (await client.get(f"/lots/{lot_id}")).json()
    assert (lot["status"], lot["rejection"]) == ("manufacturing-failed", None)
    assert lot["manufacturing_failure"]["recorded_by"] == JOURNEY.model_dump()
    assert (await client.get(f"/batches/{batch_id}")).json()["status"] == "manufacturing-failed"

    # Over HTTP too: 200 with the lot as it is, nothing new published.
    url = f"/lots/{lot_id}/manufacturing-failure"
    r = await client.post(url, json={"reason": "again"}, headers=SUPERVISOR)
    assert r.status_code == 200
    assert r.json()["manufacturing_failure"]["reason"] == "OOS: viability"
    assert len(await harness.published(ManufacturingFailed)) == 1


@pytest.mark.requirement("EU-PartIV.14.2")
async def test_manufacturing_failure_over_http(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id)
    lot_id = (await produce_lot(client, batch_id))["lot_id"]
    url = f"/lots/{lot_id}/manufacturing-failure"
    r = await client.post(url, json={"reason": "   "}, headers=SUPERVISOR)
    assert_problem(r, 422, "failure-reason-required")
    # QA disposes of lots in QC; it does not record manufacturing's findings
    r = await client.post(url, json={"reason": "bag leak"}, headers=QA)
    assert_problem(r, 403, "role-not-allowed")
    assert await harness.published(ManufacturingFailed) == []
    r = await client.post(
        url, json={"reason": "bag leak", "deviation_id": "DEV-9"}, headers=SUPERVISOR
    )
    assert r.status_code == 200
    assert r.json()["status"] == "manufacturing-failed"
    assert r.json()["manufacturing_failure"]["deviation_id"] == "DEV-9"
    [event] = await harness.published(ManufacturingFailed)
    assert (event.actor.user_id, event.coi, event.reason) == (SUPERVISOR_ID, COI, "bag leak")
    assert await harness.published(LotRejected) == []


async def test_manufacturing_failure_of_unknown_or_foreign_lot(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    r = await client.post(
        "/lots/nope/manufacturing-failure", json={"reason": "x"}, headers=SUPERVISOR
    )
    assert_problem(r, 404, "lot-not-found")
    assert_problem(await client.get("/lots/nope"), 404, "lot-not-found")
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id)
    lot_id = (await produce_lot(client, batch_id))["lot_id"]
    outcome = await harness.deliver(reject_cmd(lot_id, OTHER_COI), subject=OTHER_COI)
    assert outcome is Outcome.DEAD_LETTERED
    assert await harness.published(ManufacturingFailed) == []
