"""No manufacturing slot now is not a failure: the journey notifies, asks logistics again every
``slot_retry_every`` and waits for a slot or a coordinator's decision; each time
``slot_wait_due`` passes it notifies again, and it never gives up by itself."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from v2v_events.contracts import batch, journey, logistics
from v2v_events.contracts.common import Actor
from v2v_journey import policies
from v2v_journey.model import JourneyPolicy, JourneyView, Stage, Status
from v2v_journey.workflow import JourneyWorkflow

from .test_workflow import FAST, new_input, run_journey, search_attributes
from .world import Scenario, World, signal_as_bridge

COORDINATOR = Actor(user_id="u-coord-7", role="treatment-center-coordinator")
POLICY = FAST.model_copy(
    update={"slot_retry_every": timedelta(seconds=1), "slot_wait_due": timedelta(seconds=2)}
)
Handle = WorkflowHandle[JourneyWorkflow, JourneyView]


async def decide(handle: Handle, coi: str, decision: str, reason: str) -> None:
    """What the bridge does with logistics' scheduling.decided after a coordinator posted it."""
    decided = logistics.SchedulingDecided(
        coi=coi,
        attempt=1,
        decision=logistics.SchedulingDecision(decision),
        reason=reason,
        decided_at=datetime.now(UTC),
        actor=COORDINATOR,
    )
    await signal_as_bridge(handle, decided)


def told(world: World) -> list[journey.TreatmentCenterNotified]:
    return world.sent(journey.TreatmentCenterNotified)


async def reminded(world: World, handle: Handle, times: int = 1) -> None:
    """Until the journey waits for a slot and has notified ``times`` reminders."""
    view = None
    for _ in range(300):
        view = await handle.query(JourneyWorkflow.status)
        reminders = [n for n in told(world) if "still no manufacturing slot" in n.detail]
        if view.stage == Stage.AWAITING_SLOT and len(reminders) >= times:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the journey does not wait for a slot: {view}")


async def test_no_slot_then_one_frees_up_and_the_journey_completes(
    temporal: WorkflowEnvironment,
) -> None:
    world, handle, result = await run_journey(
        temporal, Scenario(refused_schedules=3), new_input(POLICY), "slot_freed_after_waiting"
    )
    assert isinstance(result, JourneyView), result
    assert (result.status, result.outcome) == (Status.COMPLETED, "completed")
    asked = world.sent(logistics.ScheduleCollection)
    assert [c.attempt for c in asked] == [1, 1, 1, 1]  # asked again, same attempt
    first = told(world)[0]
    assert first.reason is journey.NotificationReason.DEADLINE_MISSED
    assert "collection attempt 1 cannot be scheduled: no free manufacturing slot" in first.detail
    assert "asks again every 1s" in first.detail
    assert "keep-waiting or end-journey" in first.detail
    reminders = [n for n in told(world)[1:] if "still no manufacturing slot" in n.detail]
    assert reminders and {n.deadline for n in reminders} == {"slot-wait"}
    assert not any(n.reason is journey.NotificationReason.JOURNEY_FAILED for n in told(world))
    stages = [h.stage for h in result.history]
    assert stages.index(Stage.AWAITING_SLOT) < stages.index(Stage.COLLECTION)
    assert any(h.note.startswith("slot booked after waiting") for h in result.history)
    # retries are periods, not missed deadlines: the history stays short
    assert not any("slot-retry" in h.note for h in result.history)
    assert result.collection_attempt == 1
    assert await search_attributes(handle) == (Stage.DONE.value, Status.COMPLETED.value)


async def test_no_slot_and_a_coordinator_ends_the_journey(temporal: WorkflowEnvironment) -> None:
    async def coordinator_ends(world: World, handle: Handle) -> None:
        await reminded(world, handle)
        await decide(handle, handle.id.removeprefix("journey-"), "end-journey", "patient unfit")

    world, handle, result = await run_journey(
        temporal,
        Scenario(refused_schedules=10**6),
        new_input(POLICY),
        "slot_wait_ended_by_coordinator",
        during=coordinator_ends,
    )
    assert isinstance(result, WorkflowFailureError)
    assert "ended by decision of u-coord-7 (patient unfit)" in str(result.cause)
    [ended] = world.sent(journey.JourneyEnded)
    assert (ended.status, ended.outcome, ended.collection_attempts) == (
        "failed",
        "ended-by-decision",
        1,
    )
    assert told(world)[-1].reason is journey.NotificationReason.JOURNEY_FAILED
    assert not world.sent(batch.OpenBatch) and not world.sent(logistics.CancelBooking)
    assert {c.attempt for c in world.sent(logistics.ScheduleCollection)} == {1}
    assert await search_attributes(handle) == (Stage.DONE.value, Status.FAILED.value)


async def test_keep_waiting_restarts_the_reminders(temporal: WorkflowEnvironment) -> None:
    policy = POLICY.model_copy(update={"slot_wait_due": timedelta(seconds=4)})
    seen: dict[str, int] = {}

    async def coordinator_keeps_waiting(world: World, handle: Handle) -> None:
        await reminded(world, handle)
        await asyncio.sleep(2.5)  # the next reminder is due in about 1.5 s...
        await decide(handle, handle.id.removeprefix("journey-"), "keep-waiting", "can wait")
        seen["at_decision"] = len(told(world))
        await asyncio.sleep(2.5)  # ...but the decision restarted the period (4 s)
        seen["after"] = len(told(world))
        world.s.refused_schedules = 0  # then a slot frees up

    world, _, result = await run_journey(
        temporal,
        Scenario(refused_schedules=10**6),
        new_input(policy),
        "keep_waiting",
        during=coordinator_keeps_waiting,
    )
    assert isinstance(result, JourneyView), result
    assert result.status == Status.COMPLETED
    notes = [h.note for h in result.history if h.stage == Stage.AWAITING_SLOT]
    assert "keep waiting, decided by u-coord-7 (can wait)" in notes
    assert seen["after"] == seen["at_decision"]
    assert not any(n.reason is journey.NotificationReason.JOURNEY_FAILED for n in told(world))


async def test_logistics_not_answering_is_waited_out_too(temporal: WorkflowEnvironment) -> None:
    # The first request gets no answer within command_reply: the journey asks again.
    policy = POLICY.model_copy(update={"command_reply": timedelta(seconds=1)})
    world, _, result = await run_journey(
        temporal, Scenario(unanswered_schedules=1), new_input(policy), "unanswered"
    )
    assert isinstance(result, JourneyView), result
    assert len(world.sent(logistics.ScheduleCollection)) == 2
    assert "logistics did not answer" in told(world)[0].detail


@pytest.mark.requirement("EU-Annex11.10")
@pytest.mark.parametrize("policy_id", ["default", "demo"])
def test_policies_v3_carry_the_slot_wait_and_older_versions_still_load(policy_id: str) -> None:
    current = policies.load(policy_id)
    assert current.version == 4  # v4 adds lymphodepletion_gap_days (test_product_held.py)
    assert timedelta(0) < current.slot_retry_every <= current.slot_wait_due
    for version in (1, 2):
        path = policies.ROOT / f"{policy_id}.v{version}.json"
        older = JourneyPolicy.model_validate(json.loads(path.read_text()))
        assert older.version == version
        assert older.slot_retry_every == JourneyPolicy().slot_retry_every
