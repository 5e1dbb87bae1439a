"""A journey that ended never restarts by accident: an exact duplicate of its enrolment,
after it completed, failed or was cancelled — and after Temporal dropped the closed run —
starts no second run. Only an operator's reopening does, and it is recorded."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from v2v_journey.bridge import JourneyBridge, Outcome, journey_input
from v2v_journey.model import workflow_id
from v2v_journey.registrations.reopen import reopen_journey
from v2v_journey.registrations.store import Registrations
from v2v_journey.workflow import JourneyWorkflow
from v2v_runtime.errors import Conflict
from v2v_runtime.inbox import DeadLetters, IncomingRecord
from v2v_runtime.testing import RecordingPublisher

from .test_bridge import coi, enrolled, record
from .test_workflow import FAST
from .world import Scenario, World


@dataclass
class Rig:
    env: WorkflowEnvironment
    bridge: JourneyBridge
    registrations: Registrations
    queue: str
    world: World


@pytest.fixture
async def rig(temporal: WorkflowEnvironment, registrations: Registrations) -> AsyncIterator[Rig]:
    queue = f"no-restart-{uuid.uuid4().hex[:8]}"
    world = World(temporal.client, Scenario(qc_in_spec=[True]))
    bridge = JourneyBridge(
        temporal.client,
        DeadLetters("v2v.journey.bridge", RecordingPublisher()),
        lambda _: FAST,
        registrations,
        task_queue=queue,
    )
    async with Worker(
        temporal.client,
        task_queue=queue,
        workflows=[JourneyWorkflow],
        activities=world.activities(),
    ):
        yield Rig(temporal, bridge, registrations, queue, world)


async def runs(env: WorkflowEnvironment, c: str) -> int:
    return len([w async for w in env.client.list_workflows(f"WorkflowId = '{workflow_id(c)}'")])


async def ended(rig: Rig, c: str) -> WorkflowExecutionStatus | None:
    handle = rig.env.client.get_workflow_handle(workflow_id(c))
    with contextlib.suppress(WorkflowFailureError):
        await handle.result()
    return (await handle.describe()).status


async def test_duplicate_after_completion_starts_nothing(rig: Rig) -> None:
    c = coi()
    enrolment = record(enrolled(c), c, f"enr-{c}")
    assert await rig.bridge.process(enrolment) is Outcome.STARTED
    assert await ended(rig, c) == WorkflowExecutionStatus.COMPLETED
    booked = len(rig.world.names())
    assert await rig.bridge.process(enrolment) is Outcome.DUPLICATE
    assert await runs(rig.env, c) == 1
    assert len(rig.world.names()) == booked  # no new collection for an infused patient


async def test_duplicate_after_failure_starts_nothing(
    temporal: WorkflowEnvironment, registrations: Registrations
) -> None:
    # The apheresis arrives past its window and no second collection is allowed: it fails.
    queue = f"no-restart-failing-{uuid.uuid4().hex[:8]}"
    world = World(temporal.client, Scenario(late_receipt_attempts={1}))
    failing = FAST.model_copy(
        update={"fresh_window": timedelta(seconds=1), "max_collection_attempts": 1}
    )
    bridge = JourneyBridge(
        temporal.client,
        DeadLetters("v2v.journey.bridge", RecordingPublisher()),
        lambda _: failing,
        registrations,
        task_queue=queue,
    )
    c = coi()
    enrolment = record(enrolled(c), c)
    async with Worker(
        temporal.client,
        task_queue=queue,
        workflows=[JourneyWorkflow],
        activities=world.activities(),
    ):
        assert await bridge.process(enrolment) is Outcome.STARTED
        handle = temporal.client.get_workflow_handle(workflow_id(c))
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
    assert await bridge.process(enrolment) is Outcome.DUPLICATE
    assert await runs(temporal, c) == 1


async def test_duplicate_after_cancellation_starts_nothing(rig: Rig) -> None:
    c = coi()
    enrolment = record(enrolled(c), c)
    assert await rig.bridge.process(enrolment) is Outcome.STARTED
    await rig.env.client.get_workflow_handle(workflow_id(c)).cancel()
    assert await ended(rig, c) == WorkflowExecutionStatus.CANCELED
    assert await rig.bridge.process(enrolment) is Outcome.DUPLICATE
    assert await runs(rig.env, c) == 1


async def test_duplicate_after_temporal_forgot_the_run_starts_nothing(rig: Rig) -> None:
    """Past the namespace's retention Temporal no longer knows the closed run; the
    journey's own record still refuses a second one."""
    c = coi()
    enrolment = record(enrolled(c), c)
    assert await rig.bridge.process(enrolment) is Outcome.STARTED
    assert await ended(rig, c) == WorkflowExecutionStatus.COMPLETED
    desc = await rig.env.client.get_workflow_handle(workflow_id(c)).describe()
    await rig.env.client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=rig.env.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id(c), run_id=desc.run_id),
        )
    )
    assert await rig.bridge.process(enrolment) is Outcome.DUPLICATE


@pytest.mark.requirement("EU-Annex11.16")
async def test_a_crash_between_recording_and_starting_still_starts_once(rig: Rig) -> None:
    c = coi()
    msg = enrolled(c)
    enrolment = record(msg, c)
    # the bridge recorded the opening, then died before Temporal had the start
    assert await rig.registrations.claim(c, _event_id(enrolment), journey_input(msg, FAST))
    assert await rig.bridge.process(enrolment) is Outcome.STARTED
    assert await rig.bridge.process(enrolment) is Outcome.DUPLICATE
    assert await runs(rig.env, c) == 1


@pytest.mark.requirement("21CFR11.10(e)")
async def test_an_operator_reopens_a_finished_journey_and_it_is_recorded(rig: Rig) -> None:
    c = coi()
    assert await rig.bridge.process(record(enrolled(c), c)) is Outcome.STARTED
    assert await ended(rig, c) == WorkflowExecutionStatus.COMPLETED
    run = await reopen_journey(
        rig.env.client,
        rig.registrations,
        c,
        operator="Dana Operator",
        reason="treating physician requested a second infusion course",
        task_queue=rig.queue,
    )
    assert run
    assert await runs(rig.env, c) == 2
    with pytest.raises(Conflict):  # not while it runs
        await reopen_journey(
            rig.env.client, rig.registrations, c, operator="x", reason="y", task_queue=rig.queue
        )
    reg = await rig.registrations.get(c)
    assert reg is not None
    assert [(r.operator, r.reason) for r in reg.reopenings] == [
        ("Dana Operator", "treating physician requested a second infusion course")
    ]
    assert reg.runs[-1] == run
    await ended(rig, c)


def _event_id(rec: IncomingRecord) -> str:
    return next(v for k, v in rec.headers if k == "ce_id").decode()  # type: ignore[union-attr]
