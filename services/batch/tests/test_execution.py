"""Executing a batch from its MBR through the API: the version pinned at opening, steps in
the MBR's order, each entry checked against its parameter (type, unit, limits), materials
and equipment against the step, exceptions for critical values out of limits and exceeded
holds (announced to QC), verification by a second person, the lot after the last step."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from v2v_batch.application.step_gates import MbrOnly, StepUse
from v2v_batch.bootstrap import build
from v2v_batch.domain import Operator, Step
from v2v_batch.settings import BatchSettings
from v2v_events.contracts.batch import BatchExceptionRaised, MbrStepRecorded, StepRecorded
from v2v_runtime.errors import DomainError
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock, signed
from v2v_runtime.uow import UnitOfWork

from .mbr_support import (
    GOOD,
    PRODUCT,
    content,
    effective_mbr,
    open_mbr_batch,
    perform,
    perform_body,
)
from .support import (
    CONFIG,
    LOT,
    OPERATOR,
    OPERATOR_ID,
    VERIFIER_ID,
    assert_problem,
    step_body,
    verify,
)


async def record_of(client: httpx.AsyncClient, batch_id: str) -> dict:  # type: ignore[type-arg]
    r = await client.get(f"/batches/{batch_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def step_of(record: dict, step_id: str) -> dict:  # type: ignore[type-arg]
    return next(s for s in record["execution"]["steps"] if s["step_id"] == step_id)


async def upto(
    client: httpx.AsyncClient, harness: ServiceHarness, batch_id: str, *steps: str
) -> None:
    for s in steps:
        r = await perform(client, harness, batch_id, s)
        assert r.status_code == 201, r.text


async def test_a_batch_pins_the_mbr_version_effective_when_it_opens_and_keeps_it(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await effective_mbr(harness, client)
    first = await open_mbr_batch(client, harness)
    await effective_mbr(harness, client, content(title="Test CAR-T v2"))
    second = await open_mbr_batch(client, harness, unit="APH-MBR-2")
    assert (await record_of(client, first))["execution"]["mbr"]["version"] == 1
    assert (await record_of(client, second))["execution"]["mbr"]["version"] == 2
    record = await record_of(client, first)
    assert record["next_step"] == "receipt" == record["execution"]["next_step"]
    assert [s["status"] for s in record["execution"]["steps"]] == ["pending"] * 4
    # A product without an MBR keeps the fixed process steps.
    fixed = await open_mbr_batch(client, harness, product="S1234", unit="APH-FIXED")
    assert (await record_of(client, fixed))["execution"] is None


@pytest.mark.requirement("EU-PartIV.9", "EU-Annex11.6")
async def test_steps_follow_the_mbr_and_each_entry_is_checked_against_its_step(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    """Refused before anyone is asked to sign (no 428), nothing recorded."""
    await effective_mbr(harness, client)
    batch_id = await open_mbr_batch(client, harness)
    url = f"/batches/{batch_id}/steps"

    async def refused(step_id: str, status: int, code: str, **body: object) -> dict:  # type: ignore[type-arg]
        r = await client.post(f"{url}/{step_id}", json=perform_body(harness, step_id, **body))  # type: ignore[arg-type]
        return assert_problem(r, status, code)

    problem = await refused("harvest", 409, "step-out-of-order")
    assert problem["expected_step"] == "receipt"
    await refused("washing", 404, "step-not-in-mbr")
    wrong = {"bag_intact": {"value": "yes"}}
    assert (await refused("receipt", 422, "value-wrong-type", values=wrong))["field"] == (
        "values.bag_intact.value"
    )
    assert (await refused("receipt", 422, "value-missing", values={}))[
        "field"
    ] == "values.bag_intact"
    extra = {**GOOD["receipt"], "colour": {"value": "red"}}
    assert (await refused("receipt", 422, "parameter-unknown", values=extra))[
        "field"
    ] == "values.colour"
    assert (await refused("receipt", 422, "invalid-room", room=" "))["field"] == "room"
    await upto(client, harness, batch_id, "receipt")
    await refused("receipt", 409, "step-already-recorded")
    cells = {**GOOD["selection"], "selected_cells": {"value": 4e8, "unit": "mL"}}
    assert (await refused("selection", 422, "unit-mismatch", values=cells))["field"] == (
        "values.selected_cells.unit"
    )
    half = {**GOOD["selection"], "retained_aliquots": {"value": 1.5}}
    await refused("selection", 422, "value-wrong-type", values=half)
    await refused("selection", 422, "material-missing", materials=[])
    other = [{"material_code": "CD8-BEADS", "lot_id": "L-1", "quantity": 1, "unit": "vial"}]
    assert (await refused("selection", 422, "material-not-in-mbr", materials=other))["field"] == (
        "materials[0].material_code"
    )
    await refused("selection", 422, "equipment-missing", equipment=[])
    receipt = step_of(await record_of(client, batch_id), "receipt")
    early = (datetime.fromisoformat(receipt["ended_at"]) - timedelta(minutes=1)).isoformat()
    problem = await refused("selection", 422, "step-starts-before-previous-ended", started_at=early)
    assert problem["field"] == "started_at"
    # The fixed process steps' route is not this batch's.
    r = await signed(client, url, step_body(Step.SELECTION))
    assert_problem(r, 409, "batch-follows-mbr")
    record = await record_of(client, batch_id)
    assert record["steps_done"] == ["receipt"] and record["next_step"] == "selection"


async def test_a_performed_step_records_room_values_materials_equipment_and_its_signature(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await effective_mbr(harness, client)
    batch_id = await open_mbr_batch(client, harness)
    await upto(client, harness, batch_id, "receipt")
    r = await perform(client, harness, batch_id, "selection")
    assert r.status_code == 201, r.text
    done = r.json()
    assert done["status"] == "performed" and done["room"] == "GRADE-B-1"
    assert done["performed_by"]["user_id"] == OPERATOR_ID
    assert done["materials"][0]["lot_id"] == "LOT-CD4-7"
    assert done["equipment"][0]["equipment_id"] == "SEL-01"
    assert [s["meaning"] for s in done["signatures"]] == ["performed"]
    cells = next(v for v in done["values"] if v["name"] == "selected_cells")
    assert (cells["value"], cells["unit"], cells["within_limits"], cells["limits"]) == (
        4e8,
        "cells",
        True,
        ">= 1e+08 cells",
    )
    published = await harness.published(MbrStepRecorded)
    assert [(p.step_id, p.position, p.step_count) for p in published] == [
        ("receipt", 1, 4),
        ("selection", 2, 4),
    ]
    assert not await harness.published(StepRecorded)
    # Retained aliquots (an integer parameter of that name) go to the apheresis material.
    material = (await client.get("/materials/APH-MBR-1")).json()
    assert material["retained"] == 2


@pytest.mark.requirement("EU-PartIV.9", "EU-PartIV.11.4")
async def test_a_critical_value_out_of_limits_records_an_exception_announced_to_qc(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await effective_mbr(harness, client)
    batch_id = await open_mbr_batch(client, harness)
    low_cells = {**GOOD["selection"], "selected_cells": {"value": 5e7, "unit": "cells"}}
    await upto(client, harness, batch_id, "receipt")
    r = await perform(client, harness, batch_id, "selection", low_cells)
    assert r.status_code == 201
    assert r.json()["values"][0]["within_limits"] is False  # not critical: shown, no exception
    assert not await harness.published(BatchExceptionRaised)
    low = {**GOOD["harvest"], "viability_pct": {"value": 64.0, "unit": "%"}}
    r = await perform(client, harness, batch_id, "harvest", low)
    assert r.status_code == 201, r.text  # recorded: the value is what was measured
    record = await record_of(client, batch_id)
    [exception] = record["execution"]["exceptions"]
    assert exception["kind"] == "critical-parameter-out-of-limits"
    assert (exception["parameter"], exception["value"], exception["limit"]) == (
        "viability_pct",
        "64 %",
        ">= 70 %",
    )
    assert exception["disposition"] is None
    [announced] = await harness.published(BatchExceptionRaised)
    assert announced.exception_id == exception["exception_id"]
    assert announced.batch_id == batch_id and announced.mbr.product_code == PRODUCT
    assert announced.actor.user_id == OPERATOR_ID


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_a_hold_time_exceeded_records_an_exception(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await effective_mbr(harness, client)
    batch_id = await open_mbr_batch(client, harness)
    await upto(client, harness, batch_id, "receipt", "selection", "harvest")
    # 5 minutes to record harvest, then 90: 95 minutes after harvest ended
    r = await perform(client, harness, batch_id, "freezing", gap=timedelta(minutes=90))
    assert r.status_code == 201, r.text
    [exception] = (await record_of(client, batch_id))["execution"]["exceptions"]
    assert exception["kind"] == "hold-time-exceeded"
    assert (exception["value"], exception["limit"]) == ("95 min", "<= 60 min")
    [announced] = await harness.published(BatchExceptionRaised)
    assert announced.kind.value == "hold-time-exceeded" and announced.parameter is None


@pytest.mark.requirement("21CFR11.70", "EU-Annex11.14(a)")
async def test_a_second_person_verifies_critical_steps_and_the_lot_waits_for_them(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await effective_mbr(harness, client)
    batch_id = await open_mbr_batch(client, harness)
    await upto(client, harness, batch_id, "receipt", "selection", "harvest")
    r = await client.post(f"/batches/{batch_id}/lot", json=LOT)
    assert assert_problem(r, 409, "steps-outstanding")["steps"] == ["freezing"]
    await upto(client, harness, batch_id, "freezing")
    r = await client.post(f"/batches/{batch_id}/lot", json=LOT)
    assert assert_problem(r, 409, "unverified-steps")["steps"] == ["harvest"]
    r = await verify(client, batch_id, "harvest", signer=OPERATOR_ID)
    assert_problem(r, 403, "verification-by-performer")
    r = await verify(client, batch_id, "harvest")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "verified" and r.json()["verified_by"]["user_id"] == VERIFIER_ID
    assert [s["meaning"] for s in r.json()["signatures"]] == ["performed", "verified"]
    assert_problem(await verify(client, batch_id, "harvest"), 409, "step-already-verified")
    r = await client.post(f"/batches/{batch_id}/lot", json=LOT, headers=OPERATOR)
    assert r.status_code == 201, r.text
    freezing = step_of(await record_of(client, batch_id), "freezing")
    produced_at = datetime.fromisoformat(r.json()["produced_at"])
    assert produced_at == datetime.fromisoformat(freezing["ended_at"])  # the last step's end


class RecordingGates(MbrOnly):
    """The registers' gates as a test double: refuses what it is told to, notes each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.refuse_scan = False
        self.refuse_performer = False

    async def before_signing(self, uow: UnitOfWork, use: StepUse) -> None:
        self.calls.append(("before_signing", use.by.user_id))
        if self.refuse_scan and use.entry.materials:
            raise DomainError("material-lot-quarantined", "lot LOT-CD4-7 is in quarantine")

    async def check_performer(self, uow: UnitOfWork, use: StepUse, performer: Operator) -> None:
        self.calls.append(("check_performer", performer.user_id))
        if self.refuse_performer:
            raise DomainError("not-qualified", f"{performer.user_id} is not qualified")

    async def after_recording(self, uow: UnitOfWork, use: StepUse, performer: Operator) -> None:
        # the step is recorded in this transaction already
        assert use.step.step_id in use.batch.performed
        self.calls.append(("after_recording", use.step.step_id))


async def test_the_registers_gates_are_asked_before_signing_after_it_and_after_recording(
    tmp_path: Path,
) -> None:
    gates = RecordingGates()
    config = tmp_path / "products.json"
    config.write_text(json.dumps(CONFIG))
    settings = BatchSettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "batch"), products_config=config
    )
    harness = ServiceHarness(
        build(settings, clock=StepClock(), ids=SeqIds(), gates=gates), headers=OPERATOR
    )
    await harness.start()
    try:
        async with harness.client() as client:
            await effective_mbr(harness, client)
            batch_id = await open_mbr_batch(client, harness)
            await upto(client, harness, batch_id, "receipt")
            gates.refuse_scan = True  # refused before anyone is asked to sign: no 428
            r = await client.post(
                f"/batches/{batch_id}/steps/selection", json=perform_body(harness, "selection")
            )
            assert_problem(r, 422, "material-lot-quarantined")
            gates.refuse_scan, gates.refuse_performer = False, True
            r = await perform(client, harness, batch_id, "selection")
            assert_problem(r, 422, "not-qualified")  # the signer, once known: nothing kept
            assert (await record_of(client, batch_id))["next_step"] == "selection"
            gates.refuse_performer = False
            assert (await perform(client, harness, batch_id, "selection")).status_code == 201
    finally:
        await harness.close()
    assert gates.calls[-3:] == [
        ("before_signing", OPERATOR_ID),
        ("check_performer", OPERATOR_ID),
        ("after_recording", "selection"),
    ]
