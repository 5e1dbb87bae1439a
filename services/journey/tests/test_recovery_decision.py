"""A lot manufacturing found failed after QA released it: the journey reacts at once
(compensates what is booked, notifies) and then waits for people's recovery decision, never
choosing itself."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from v2v_events.contracts import batch, exceptional_release, holds, journey, logistics, qc
from v2v_events.contracts.common import Actor
from v2v_journey.model import JourneyView, Stage, Status, workflow_id
from v2v_journey.workflow import JourneyWorkflow

from .test_workflow import FAST, new_input
from .world import Scenario, World, signal_as_bridge

QA = Actor(user_id="u-qa-lead", role="qa-reviewer")
POLICY = FAST.model_copy(update={"decision_due": timedelta(seconds=2)})


async def decide(
    handle: WorkflowHandle[JourneyWorkflow, JourneyView], coi: str, decision: str
) -> None:
    """What the bridge does with QC's qc.recovery.decided after QA posted it."""
    decided = qc.RecoveryDecided(
        coi=coi,
        lot_id="L1",
        decision=qc.RecoveryDecision(decision),
        reason="QA and the treating physician agreed",
        decided_at=datetime.now(UTC),
        actor=QA,
    )
    await signal_as_bridge(handle, decided)


async def waiting_for_people(
    handle: WorkflowHandle[JourneyWorkflow, JourneyView], world: World
) -> None:
    """Until the journey waits at awaiting-decision and has re-notified once."""
    for _ in range(200):
        view = await handle.query(JourneyWorkflow.status)
        overdue = [
            n
            for n in world.sent(journey.TreatmentCenterNotified)
            if "recovery decision" in n.detail and n.deadline == "recovery-decision"
        ]
        if view.stage == Stage.AWAITING_DECISION and overdue:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"journey not waiting for a decision: {view}")


@pytest.mark.requirement("EU-PartIV.14.1")
async def test_rejected_after_release_waits_for_people_then_remanufactures(
    temporal: WorkflowEnvironment,
) -> None:
    world = World(
        temporal.client,
        Scenario(qc_in_spec=[True, True], withdrawn_after_release={1}, retained_aliquots=1),
    )
    inp = new_input(POLICY)
    queue = f"journey-test-{uuid.uuid4().hex[:8]}"
    async with Worker(
        temporal.client,
        task_queue=queue,
        workflows=[JourneyWorkflow],
        activities=world.activities(),
    ):
        handle = await temporal.client.start_workflow(
            JourneyWorkflow.run, inp, id=workflow_id(inp.coi), task_queue=queue
        )
        await waiting_for_people(handle, world)
        # It reacted at once: lymphodepletion, infusion slot and outbound shipment cancelled,
        # the lot held (asked of QC: QA disposes of it), center told...
        cancelled = [c.booking_id for c in world.sent(logistics.CancelBooking)]
        assert cancelled == ["LD-I1", "I1", "S-outbound-1"]
        assert [h.item_id for h in world.sent(holds.PlaceHold)] == ["L1"]
        assert not world.sent(batch.RejectLot)
        told = world.sent(journey.TreatmentCenterNotified)
        assert "manufacturing failed" in told[0].detail and told[0].lot_id == "L1"
        # ...and chose nothing: no re-manufacture, no new collection while people decide.
        assert "remanufacture-from-retained-material" not in world.names()
        assert world.names().count("schedule-collection") == 1
        await decide(handle, inp.coi, "remanufacture")
        result = await handle.result()
    assert (result.status, result.outcome) == (Status.COMPLETED, "completed-after-remanufacture")
    assert world.names().count("remanufacture-from-retained-material") == 1
    decided = [h.note for h in result.history if h.stage == Stage.AWAITING_DECISION]
    assert "remanufacture decided by u-qa-lead" in decided


@pytest.mark.requirement("EU-PartIV.14.1")
async def test_people_may_end_the_journey(temporal: WorkflowEnvironment) -> None:
    world = World(
        temporal.client,
        Scenario(qc_in_spec=[True, True], withdrawn_after_release={1}, retained_aliquots=1),
    )
    inp = new_input(POLICY)
    queue = f"journey-test-{uuid.uuid4().hex[:8]}"
    async with Worker(
        temporal.client,
        task_queue=queue,
        workflows=[JourneyWorkflow],
        activities=world.activities(),
    ):
        handle = await temporal.client.start_workflow(
            JourneyWorkflow.run, inp, id=workflow_id(inp.coi), task_queue=queue
        )
        await waiting_for_people(handle, world)
        await decide(handle, inp.coi, "end-journey")
        try:
            await handle.result()
            raise AssertionError("the journey should have ended as failed")
        except WorkflowFailureError:
            pass
        view = await handle.query(JourneyWorkflow.status)
    assert (view.status, view.outcome) == (Status.FAILED, "ended-by-decision")
    [ended] = world.sent(journey.JourneyEnded)
    assert (ended.status, ended.outcome) == ("failed", "ended-by-decision")
    assert "remanufacture-from-retained-material" not in world.names()


@pytest.mark.requirement("EU-PartIV.11.5")
async def test_exceptional_release_waits_for_qa_then_ships_and_infuses(
    temporal: WorkflowEnvironment,
) -> None:
    """People decide exceptional release: the journey waits for QA's decision in QC (it
    judges nothing itself: QC refuses it for a lot not out of specification), then books
    the way out again and delivers as after a release."""
    world = World(
        temporal.client,
        Scenario(qc_in_spec=[True], withdrawn_after_release={1}, retained_aliquots=0),
    )
    inp = new_input(POLICY.model_copy(update={"release_due": timedelta(seconds=2)}))
    queue = f"journey-test-{uuid.uuid4().hex[:8]}"
    async with Worker(
        temporal.client,
        task_queue=queue,
        workflows=[JourneyWorkflow],
        activities=world.activities(),
    ):
        handle = await temporal.client.start_workflow(
            JourneyWorkflow.run, inp, id=workflow_id(inp.coi), task_queue=queue
        )
        await waiting_for_people(handle, world)
        await decide(handle, inp.coi, "exceptional-release")
        for _ in range(200):  # waiting for QA, and telling the center when it is late
            late = [n for n in world.sent(journey.TreatmentCenterNotified) if n.deadline]
            if any(n.deadline == "exceptional-release" for n in late):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("no notice of the overdue exceptional release")
        assert world.names().count("book-shipment") == 2  # inbound, the first outbound
        released = exceptional_release.LotExceptionallyReleased(
            coi=inp.coi,
            lot_id="L1",
            panel_id="P1",
            decision_ref="XR-L1",
            region=exceptional_release.Region.EU,
            decided_at=datetime.now(UTC),
            actor=QA,
        )
        await signal_as_bridge(handle, released)
        result = await handle.result()
    assert (result.status, result.outcome) == (
        Status.COMPLETED,
        "completed-after-exceptional-release",
    )
    outbound = [
        c for n, c in world.commands if n == "book-shipment" and c.direction.value == "outbound"
    ]
    assert [c.attempt for c in outbound] == [1, 1]  # booked again after the compensation
    assert world.names().count("book-infusion-slot") == 2
    assert "remanufacture-from-retained-material" not in world.names()
    notes = [h.note for h in result.history]
    assert "released exceptionally (XR-L1) by u-qa-lead" in notes
