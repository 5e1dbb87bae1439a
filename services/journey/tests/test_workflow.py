"""The journey workflow on a real Temporal dev server, with deadlines in seconds."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from v2v_events.contracts import batch, custody, holds, journey, logistics, qc
from v2v_events.contracts.common import ShipmentDirection
from v2v_journey.model import (
    SA_STAGE,
    SA_STATUS,
    JourneyInput,
    JourneyPolicy,
    JourneyView,
    Stage,
    Status,
    workflow_id,
)
from v2v_journey.workflow import JourneyWorkflow

from .world import Scenario, World

HISTORIES = Path(__file__).parent / "histories"
DAY = timedelta(days=1)
FAST = JourneyPolicy(
    policy_id="test",
    command_reply=timedelta(seconds=10),
    collection_due=timedelta(seconds=30),
    fresh_window=timedelta(seconds=30),
    manufacturing_due=timedelta(seconds=30),
    qc_due=timedelta(seconds=30),
    release_due=timedelta(seconds=30),
    delivery_due=timedelta(seconds=30),
    infusion_due=timedelta(seconds=30),
)


def new_input(policy: JourneyPolicy = FAST) -> JourneyInput:
    return JourneyInput(
        coi=f"CHA1B2C26{uuid.uuid4().int % 1_000_000:06d}",
        therapy="CAR-T",
        product_code="S1234",
        treatment_center="tc-1",
        apheresis_center="ac-1",
        manufacturing_site="site-1",
        patient_weight_kg=70,
        earliest_collection=date(2026, 11, 30),
        policy=policy,
    )


During = Callable[[World, WorkflowHandle[JourneyWorkflow, JourneyView]], Awaitable[None]]


async def run_journey(
    env: WorkflowEnvironment,
    scenario: Scenario,
    inp: JourneyInput,
    record_as: str,
    during: During | None = None,
) -> tuple[World, WorkflowHandle[JourneyWorkflow, JourneyView], JourneyView | Exception]:
    """Run the journey in the simulated world to its end; ``during`` acts as people do
    while it runs (e.g. send a decision)."""
    world = World(env.client, scenario)
    queue = f"journey-test-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client, task_queue=queue, workflows=[JourneyWorkflow], activities=world.activities()
    ):
        handle = await env.client.start_workflow(
            JourneyWorkflow.run, inp, id=workflow_id(inp.coi), task_queue=queue
        )
        if during is not None:
            await during(world, handle)
        result: JourneyView | Exception
        try:
            result = await handle.result()
        except WorkflowFailureError as exc:
            result = exc
        # queries need a worker, even on a closed workflow
        world.final_view = await handle.query(JourneyWorkflow.status)
    if os.environ.get("V2V_RECORD_HISTORIES"):
        HISTORIES.mkdir(exist_ok=True)
        history = await handle.fetch_history()
        (HISTORIES / f"{record_as}.json").write_text(
            json.dumps(json.loads(history.to_json()), indent=1) + "\n"
        )
    return world, handle, result


async def search_attributes(
    handle: WorkflowHandle[JourneyWorkflow, JourneyView],
) -> tuple[str | None, str | None]:
    attrs = (await handle.describe()).typed_search_attributes
    return attrs.get(SA_STAGE), attrs.get(SA_STATUS)


@pytest.mark.requirement("21CFR11.10(f)")
async def test_completed_path(temporal: WorkflowEnvironment) -> None:
    world, handle, result = await run_journey(
        temporal, Scenario(duplicate_events=True), new_input(), "completed_booked_after_release"
    )
    assert isinstance(result, JourneyView), result
    assert (result.status, result.outcome) == (Status.COMPLETED, "completed")
    # the batch's progress: its last step, executed from its MBR
    assert {k: result.current[k] for k in ("batch", "step", "steps_done")} == {
        "batch": "B1",
        "step": "Transfer to vapour-phase LN2",
        "steps_done": "14/14",
    }
    # every event arrived twice: each step still happened once
    assert world.names() == [
        "schedule-collection",
        "book-shipment",
        "open-batch",
        "order-qc-panel",
        "book-shipment",
        "book-infusion-slot",
        "book-lymphodepletion",
        "announce-journey-end",
    ]
    assert not world.sent(logistics.CancelBooking)
    # lymphodepletion and the infusion slot only for a released product, with the policy's gap
    [slot] = world.sent(logistics.BookInfusionSlot)
    assert slot.lymphodepletion_gap_days == FAST.lymphodepletion_gap_days
    [planned] = world.sent(logistics.BookLymphodepletion)
    assert (planned.infusion_booking_id, planned.start_date) == ("I1", slot.earliest_date + DAY)
    assert result.current["infusion_slot"] == "I1"
    released_at = next(h.at for h in result.history if h.note.startswith("released by"))
    assert any(
        h.at >= released_at and h.note.startswith("lymphodepletion from") for h in result.history
    )
    assert [s.value for s in dict.fromkeys(h.stage for h in result.history)] == [
        "enrolled",
        "scheduling",
        "collection",
        "inbound-shipment",
        "manufacturing",
        "qc-testing",
        "qa-release",
        "outbound-shipment",
        "infusion",
        "done",
    ]
    assert await search_attributes(handle) == (Stage.DONE.value, Status.COMPLETED.value)
    ended = world.sent(journey.JourneyEnded)[0]
    assert (ended.status, ended.manufacturing_attempts, ended.collection_attempts) == (
        "completed",
        1,
        1,
    )
    assert world.final_view is not None
    assert world.final_view.current["certificate"] == "COA-1"
    assert world.final_view.deadlines == {}


async def test_failed_qc_then_remanufacture(temporal: WorkflowEnvironment) -> None:
    world, _handle, result = await run_journey(
        temporal,
        Scenario(qc_in_spec=[False, True], retained_aliquots=1),
        new_input(),
        "failed_qc_remanufacture_people_decide",
    )
    assert isinstance(result, JourneyView), result
    assert result.outcome == "completed-after-remanufacture"
    names = world.names()
    first_ok = names.index("remanufacture-from-retained-material")
    # compensations of attempt 1 in reverse order of booking: shipment, then a hold on the
    # lot asked of QC (never a rejection); no infusion slot was booked for a failed lot
    compensations = [
        (n, getattr(c, "booking_id", None) or getattr(c, "item_id", None))
        for n, c in world.commands[:first_ok]
        if n in ("cancel-booking", "request-hold", "reject-lot")
    ]
    assert compensations == [("cancel-booking", "S-outbound-1"), ("request-hold", "L1")]
    assert "book-infusion-slot" not in world.names()[:first_ok]
    [hold] = world.sent(holds.PlaceHold)
    assert (hold.item_kind, hold.deviation_id) == (holds.HoldItemKind.LOT, "DEV-1")
    assert hold.requested_by == workflow_id(world.sent(journey.JourneyEnded)[0].coi)
    assert hold.reason.startswith("journey compensation: lot L1 out of specification")
    assert not world.sent(batch.RejectLot) and not world.sent(custody.RejectUnit)
    reasons = [n.reason for n in world.sent(journey.TreatmentCenterNotified)]
    assert reasons == [
        journey.NotificationReason.QC_FAILED,
        journey.NotificationReason.REMANUFACTURING,
    ]
    # no deadline passed: none named
    assert [n.deadline for n in world.sent(journey.TreatmentCenterNotified)] == [None, None]
    assert world.sent(batch.Remanufacture)[0].attempt == 2
    assert len(world.sent(logistics.ScheduleCollection)) == 1


async def test_notifications_composed_from_long_texts_stay_within_the_contract(
    temporal: WorkflowEnvironment,
) -> None:
    # A QC failure value may be as long as the contract allows; the notification that quotes
    # it must still be a valid message (else the workflow task fails and the journey stalls).
    scenario = Scenario(qc_in_spec=[False, True], retained_aliquots=1, failed_value="9" * 4000)
    world, _, result = await asyncio.wait_for(
        run_journey(temporal, scenario, new_input(), "long_texts"), 90
    )
    assert isinstance(result, JourneyView), result
    assert result.outcome == "completed-after-remanufacture"
    detail = world.sent(journey.TreatmentCenterNotified)[0].detail
    assert detail.startswith("lot L1 out of specification: viability=999")
    assert len(detail) == 4000 and detail.endswith("…")
    assert len(world.sent(holds.PlaceHold)[0].reason) == 4000


async def test_failed_qc_without_material_then_recollection(temporal: WorkflowEnvironment) -> None:
    world, _, result = await run_journey(
        temporal,
        Scenario(qc_in_spec=[False, True], retained_aliquots=0),
        new_input(),
        "failed_qc_recollection_people_decide",
    )
    assert isinstance(result, JourneyView), result
    assert result.outcome == "completed-after-recollection"
    assert not world.sent(batch.Remanufacture)  # nothing retained: straight to collection
    assert [c.attempt for c in world.sent(logistics.ScheduleCollection)] == [1, 2]
    assert [c.attempt for c in world.sent(batch.OpenBatch)] == [1, 2]
    assert [c.item_id for c in world.sent(holds.PlaceHold)] == ["L1"]
    assert (result.collection_attempt, result.manufacturing_attempt) == (2, 2)


async def test_attempts_exhausted_fails_with_every_compensation_done(
    temporal: WorkflowEnvironment,
) -> None:
    world, handle, result = await run_journey(
        temporal,
        Scenario(qc_in_spec=[False, False, False], retained_aliquots=5),
        new_input(),
        "attempts_exhausted_lots_held",
    )
    assert isinstance(result, WorkflowFailureError)
    # the journey never decides: QA's re-manufacture after the third failure cannot be
    # done (every attempt used), the journey says so, and QA ends it
    assert "ended by decision of u-qa" in str(result.cause)
    refused = [n.detail for n in world.sent(journey.TreatmentCenterNotified)]
    assert any("all 3 manufacturing attempts are used" in d for d in refused), refused
    assert [c.item_id for c in world.sent(holds.PlaceHold)] == ["L1", "L2", "L3"]
    assert not world.sent(batch.RejectLot)
    cancelled = [c.booking_id for c in world.sent(logistics.CancelBooking)]
    assert cancelled == ["S-outbound-1", "S-outbound-2", "S-outbound-3"]
    assert not world.sent(logistics.BookInfusionSlot)  # no lot was released
    assert world.names()[-2:] == ["notify-treatment-center", "announce-journey-end"]
    assert world.sent(journey.JourneyEnded)[0].status == "failed"
    assert world.sent(journey.TreatmentCenterNotified)[-1].reason == (
        journey.NotificationReason.JOURNEY_FAILED
    )
    assert await search_attributes(handle) == (Stage.DONE.value, Status.FAILED.value)


@pytest.mark.requirement("EU-PartIV.7")
async def test_late_apheresis_is_held_and_recollected(temporal: WorkflowEnvironment) -> None:
    policy = FAST.model_copy(update={"fresh_window": timedelta(seconds=2)})
    world, _, result = await run_journey(
        temporal, Scenario(late_receipt_attempts={1}), new_input(policy), "late_apheresis_unit_held"
    )
    assert isinstance(result, JourneyView), result
    assert result.outcome == "completed-after-recollection"
    first_schedule_2 = next(
        i
        for i, (n, c) in enumerate(world.commands)
        if isinstance(c, logistics.ScheduleCollection) and c.attempt == 2
    )
    before = world.commands[:first_schedule_2]
    # compensated in reverse: the inbound shipment cancelled, the unit held (asked of QC,
    # never rejected), and the collection booking cancelled, which frees its slot
    assert [
        (n, getattr(c, "booking_id", None) or getattr(c, "item_id", None))
        for n, c in before
        if n in ("cancel-booking", "request-hold", "reject-unit")
    ] == [("cancel-booking", "S-inbound-1"), ("request-hold", "U1"), ("cancel-booking", "C1")]
    assert world.sent(holds.PlaceHold)[0].item_kind == holds.HoldItemKind.UNIT
    late = world.sent(journey.TreatmentCenterNotified)[0]
    assert late.reason == journey.NotificationReason.APHERESIS_LATE
    # the deadline that passed, by the name the status shows (QC opens a deviation for it)
    assert (late.deadline, late.manufacturing_site) == ("apheresis-receipt", "site-1")
    assert [c.apheresis_unit_id for c in world.sent(batch.OpenBatch)] == ["U2"]
    assert any("deadline passed: apheresis-receipt" in h.note for h in result.history)


def test_shipment_direction_names_are_stable() -> None:
    # the workflow matches bookings by direction; the wire values are part of the contract
    assert ShipmentDirection.INBOUND.value == "inbound"
    assert custody.LocationKind.TREATMENT_CENTER.value == "treatment-center"
    assert qc.PanelOutcome.OUT_OF_SPECIFICATION.value == "out-of-specification"


@pytest.mark.parametrize("policy_id", ["default", "demo", "chaos"])
def test_packaged_policies_load(policy_id: str) -> None:
    from v2v_journey import policies

    policy = policies.load(policy_id)
    assert policy.policy_id == policy_id
    assert policy.fresh_window > timedelta(0)
