"""The Kafka → Temporal bridge: service events become journey signals.

PatientEnrolled opens the journey ``journey-<CoI>`` once: the bridge records the opening in
the journey's own store first, then signal-with-starts the workflow with Temporal's
reject-duplicate id policy. A duplicate or replayed enrolment — also long after the journey
ended, when Temporal may have dropped the closed run — never starts a second run; only an
operator's ``v2v journey reopen`` does. Every other event the workflow waits for is
signalled to its journey under the event's short type name: exactly the events the
workflow declares it listens to (``listens.LISTENS_TO``). The Kafka offset moves only
after Temporal accepted the signal; while Temporal is unreachable the bridge retries and
does not move on. An event for a journey that does not exist goes to the dead letters; one
for a journey already closed is logged and skipped; a hold on an item without a CoI (a
material lot) is no journey's and is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from enum import StrEnum

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from v2v_events import REGISTRY
from v2v_events.contracts import custody
from v2v_events.contracts.holds import HoldPlaced, HoldReleased
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract
from v2v_runtime.deadletters import DeadLetterReason, DeadLetters, IncomingRecord
from v2v_runtime.records import Decoded, RecordDecoder, Skipped

from .listens import LISTENS_TO, STARTS_JOURNEY
from .model import (
    TASK_QUEUE,
    JourneyInput,
    JourneyPolicy,
    JourneySignal,
    workflow_id,
)
from .registrations.store import Registrations
from .starts import start_journey

log = logging.getLogger("v2v.journey.bridge")

# The events the journey waits for, as the workflow declares them; the rest stay on Kafka
# for other readers.
FORWARDED: tuple[type[Contract], ...] = LISTENS_TO
_FORWARDED_NAMES = {REGISTRY.for_model(m).name for m in FORWARDED}
_ENROLLED = REGISTRY.for_model(STARTS_JOURNEY).name


class Outcome(StrEnum):
    STARTED = "started"
    DUPLICATE = "duplicate-enrolment"  # the journey was opened already: no second run
    SIGNALLED = "signalled"
    IGNORED = "ignored"
    CLOSED = "journey-closed"
    DEAD_LETTERED = "dead-lettered"


def for_a_journey(message: Contract) -> bool:
    """A hold names a CoI only when its item has one (a unit, a lot): a hold on a material
    lot is keyed by the lot and concerns no one journey."""
    return not isinstance(message, HoldPlaced | HoldReleased) or message.coi is not None


def signal_name(event_type: str) -> str:
    """``org.vein2vein.qc.panel.evaluated`` → ``qc.panel.evaluated``: readable in the UI."""
    return event_type.removeprefix("org.vein2vein.")


def to_signal(env: Envelope, message: Contract) -> JourneySignal:
    return JourneySignal(
        event_id=env.id, type=env.type, time=env.time, data=message.model_dump(mode="json")
    )


def journey_input(msg: custody.PatientEnrolled, policy: JourneyPolicy) -> JourneyInput:
    return JourneyInput(
        coi=msg.coi,
        therapy=msg.therapy,
        product_code=msg.product_code,
        treatment_center=msg.treatment_center,
        apheresis_center=msg.apheresis_center,
        manufacturing_site=msg.manufacturing_site,
        patient_weight_kg=msg.patient_weight_kg,
        earliest_collection=msg.earliest_collection,
        policy=policy,
    )


class JourneyBridge:
    def __init__(
        self,
        client: Client,
        dead_letters: DeadLetters,
        policy_for: Callable[[str], JourneyPolicy],
        registrations: Registrations,
        *,
        task_queue: str = TASK_QUEUE,
        retry_backoff: float = 0.5,
        parallel: int = 32,
    ) -> None:
        self.group = dead_letters.group
        self._client = client
        self._dead_letters = dead_letters
        self._decoder = RecordDecoder(dead_letters, {_ENROLLED, *_FORWARDED_NAMES})
        self._policy_for = policy_for
        self._registrations = registrations
        self._parallel = asyncio.Semaphore(parallel)
        self._task_queue = task_queue
        self._backoff = retry_backoff

    async def process_batch(self, records: Sequence[IncomingRecord]) -> list[Outcome]:
        """One partition's records: different journeys (keys) concurrently — each is a
        separate Temporal call — and each journey's records in their order."""
        outcomes = [Outcome.IGNORED] * len(records)
        by_key: dict[bytes | None, list[int]] = {}
        for i, record in enumerate(records):
            by_key.setdefault(record.key, []).append(i)

        async def journey(indices: list[int]) -> None:
            async with self._parallel:
                for i in indices:
                    outcomes[i] = await self.process(records[i])

        async with asyncio.TaskGroup() as tasks:
            for indices in by_key.values():
                tasks.create_task(journey(indices))
        return outcomes

    async def process(self, record: IncomingRecord) -> Outcome:
        decoded = await self._decoder.decode(record)
        if decoded is Skipped.DEAD_LETTERED:
            return Outcome.DEAD_LETTERED
        if decoded is Skipped.IGNORED:
            return Outcome.IGNORED
        assert isinstance(decoded, Decoded)
        if not for_a_journey(decoded.message):
            return Outcome.IGNORED
        with self._decoder.span(record, decoded.envelope):
            return await self._deliver(record, decoded.envelope, decoded.message)

    async def _deliver(self, record: IncomingRecord, env: Envelope, message: Contract) -> Outcome:
        delay = self._backoff
        while True:  # Temporal away: wait for it, never skip the event
            try:
                if isinstance(message, custody.PatientEnrolled):
                    return await self._start(env, message)
                return await self._signal(record, env, message)
            except RPCError as exc:
                if exc.status not in (
                    RPCStatusCode.UNAVAILABLE,
                    RPCStatusCode.DEADLINE_EXCEEDED,
                    RPCStatusCode.RESOURCE_EXHAUSTED,
                ):
                    return await self._dead(record, DeadLetterReason.HANDLER_FAILED, str(exc))
                log.warning("temporal unavailable; retrying", extra={"error": str(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _start(self, env: Envelope, msg: custody.PatientEnrolled) -> Outcome:
        inp = journey_input(msg, self._policy_for(msg.product_code))
        if not await self._registrations.claim(msg.coi, env.id, inp):
            log.info(
                "enrolment for a journey already opened: no new run",
                extra={"coi": msg.coi, "event_id": env.id},
            )
            return Outcome.DUPLICATE
        try:
            handle = await start_journey(
                self._client,
                inp,
                task_queue=self._task_queue,
                reuse=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                signal=(signal_name(env.type), to_signal(env, msg)),
            )
            run_id = handle.result_run_id or ""
        except WorkflowAlreadyStartedError:
            # A closed run of this journey exists though our record has no run: we crashed
            # between starting it and recording that. Record it; never start another.
            run_id = (
                await self._client.get_workflow_handle(workflow_id(msg.coi)).describe()
            ).run_id
        await self._registrations.started(msg.coi, run_id)
        log.info("journey started", extra={"coi": msg.coi, "event_id": env.id, "run_id": run_id})
        return Outcome.STARTED

    async def _signal(self, record: IncomingRecord, env: Envelope, msg: Contract) -> Outcome:
        handle = self._client.get_workflow_handle(workflow_id(env.subject))
        try:
            await handle.signal(signal_name(env.type), to_signal(env, msg))
            return Outcome.SIGNALLED
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        try:
            desc = await handle.describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return await self._dead(
                record, DeadLetterReason.NO_TARGET, f"no journey {workflow_id(env.subject)}"
            )
        if desc.status != WorkflowExecutionStatus.RUNNING:
            log.info(
                "event for a closed journey skipped",
                extra={"coi": env.subject, "type": env.type, "event_id": env.id},
            )
            return Outcome.CLOSED
        raise RPCError("journey exists but the signal was refused", RPCStatusCode.UNAVAILABLE, b"")

    async def _dead(self, record: IncomingRecord, reason: DeadLetterReason, error: str) -> Outcome:
        await self._decoder.dead_letter(record, reason, error)
        return Outcome.DEAD_LETTERED
