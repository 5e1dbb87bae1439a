"""The vein-to-vein journey of one patient: one workflow, id ``journey-<CoI>``.

It acts only through activities that publish commands, and learns only from service
events that the bridge turns into signals. Every wait has a deadline from the product's
policy. When QC fails, QA rejects or a deadline passes, the steps already booked are
compensated in reverse order (reject the lot, cancel the outbound shipment and the infusion
slot), the treatment center is notified, and the journey recovers: re-manufacture from
retained apheresis material when some remains, otherwise a new collection, within bounded
attempts. With none left the journey fails, every compensation done.

When manufacturing rejects the lot after it was produced (even after QA released it), the
journey reacts at once: it compensates what is booked, notifies, and then waits for people's
recovery decision (``qc.recovery.decided``) — re-manufacture, a new collection or the end of
the journey — never choosing by itself; each time ``decision_due`` passes it notifies again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from v2v_events import REGISTRY
    from v2v_events.bounds import clip
    from v2v_events.contracts.batch import (
        BatchOpened,
        LotProduced,
        LotRejected,
        OpenBatch,
        RejectLot,
        Remanufacture,
        RemanufactureRefused,
    )
    from v2v_events.contracts.common import Actor, ShipmentDirection, TemperatureClass
    from v2v_events.contracts.custody import (
        CollectionRecorded,
        InfusionRecorded,
        LocationKind,
        RejectUnit,
        UnitReceived,
    )
    from v2v_events.contracts.journey import (
        JourneyEnded,
        NotificationReason,
        TreatmentCenterNotified,
    )
    from v2v_events.contracts.logistics import (
        BookInfusionSlot,
        BookShipment,
        CancelBooking,
        CollectionScheduled,
        CollectionUnschedulable,
        InfusionSlotBooked,
        ScheduleCollection,
        SchedulingDecided,
        SchedulingDecision,
        ShipmentBooked,
    )
    from v2v_events.contracts.qc import (
        LotReleased,
        LotReleaseRejected,
        OrderPanel,
        PanelEvaluated,
        PanelOutcome,
        RecoveryDecided,
        RecoveryDecision,
    )
    from v2v_events.registry import Contract

    from .activities import JourneyActivities
    from .model import (
        SA_COI,
        SA_SITE,
        SA_STAGE,
        SA_STATUS,
        SA_THERAPY,
        HistoryEntry,
        JourneyInput,
        JourneySignal,
        JourneyView,
        Stage,
        Status,
    )
    from .saga import Compensations

C = TypeVar("C", bound=Contract)
# workflow.patched ids: histories recorded before each change replay the old way
WAIT_FOR_SLOT = "collection-waits-for-slot"  # was: no slot now -> the journey failed
LATE_APHERESIS_FREES_SLOT = "late-apheresis-frees-slot"  # was: its slot stayed booked
SYSTEM = Actor(user_id="journey", role="system")
ACTIVITY_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


class JourneyFailed(Exception):
    """No way forward within the policy (or people ended it): compensations are done, the
    journey fails."""

    def __init__(self, detail: str, outcome: str = "failed") -> None:
        super().__init__(detail)
        self.outcome = outcome


@dataclass
class Attempt:
    """How one manufacturing attempt ended, and what people decided if they had to."""

    completed: bool
    lot: LotProduced | None = None
    decision: RecoveryDecided | None = None


@dataclass
class Failure:
    """Why a lot did not reach the patient; ``decide``: people choose how to go on."""

    reason: NotificationReason
    detail: str
    decide: bool = False


@workflow.defn(name="Journey")
class JourneyWorkflow:
    def __init__(self) -> None:
        self._events: list[JourneySignal] = []
        self._seen: set[str] = set()
        self._consumed: set[str] = set()
        self._stage = Stage.ENROLLED
        self._status = Status.RUNNING
        self._outcome: str | None = None
        self._history: list[HistoryEntry] = []
        self._deadlines: dict[str, datetime] = {}
        self._current: dict[str, str] = {}
        self._collection_attempt = 0
        self._manufacturing_attempt = 0
        self._sagas: list[Compensations] = []
        self._failure: str = ""
        self._deviation: str | None = None
        self._inp: JourneyInput | None = None
        self._stage_since: datetime | None = None

    # --- signals and queries ------------------------------------------------------------

    @workflow.signal(dynamic=True)
    def on_service_event(self, name: str, args: Sequence[RawValue]) -> None:
        """Every service event arrives as a signal named after its type."""
        sig = workflow.payload_converter().from_payload(args[0].payload, JourneySignal)
        if sig.event_id in self._seen:  # the bridge delivers at least once
            return
        self._seen.add(sig.event_id)
        self._events.append(sig)

    @workflow.query(name="status")
    def status(self) -> JourneyView:
        return JourneyView(
            coi=self.inp.coi,
            stage=self._stage,
            status=self._status,
            outcome=self._outcome,
            collection_attempt=self._collection_attempt,
            manufacturing_attempt=self._manufacturing_attempt,
            deadlines=dict(self._deadlines),
            current=dict(self._current),
            history=list(self._history),
        )

    @property
    def inp(self) -> JourneyInput:
        assert self._inp is not None
        return self._inp

    # --- the journey --------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: JourneyInput) -> JourneyView:
        self._inp = inp
        workflow.upsert_search_attributes(
            [
                SA_COI.value_set(inp.coi),
                SA_THERAPY.value_set(inp.therapy),
                SA_SITE.value_set(inp.manufacturing_site),
                SA_STATUS.value_set(Status.RUNNING.value),
            ]
        )
        self._note(
            Stage.ENROLLED, f"{inp.therapy} {inp.product_code}, policy {inp.policy.policy_id}"
        )
        try:
            outcome = await self._journey()
        except JourneyFailed as failed:
            await self._notify(NotificationReason.JOURNEY_FAILED, str(failed))
            await self._end(Status.FAILED, failed.outcome, str(failed))
            raise ApplicationError(f"journey failed: {failed}", non_retryable=True) from None
        except asyncio.CancelledError:
            # An operator cancelled: undo what is booked, then let the cancellation stand.
            for saga in reversed(self._sagas):
                await saga.run()
            await self._end(Status.CANCELLED, "cancelled", "cancelled by an operator")
            raise
        await self._end(Status.COMPLETED, outcome, "infusion recorded")
        return self.status()

    async def _journey(self) -> str:
        p = self.inp.policy
        recollected = remanufactured = False
        while True:
            self._collection_attempt += 1
            if self._collection_attempt > p.max_collection_attempts:
                raise JourneyFailed(f"{p.max_collection_attempts} collection attempt(s) used")
            collected = await self._collect()
            if collected is None:
                recollected = True
                await self._notify(
                    NotificationReason.RECOLLECTION_NEEDED, "a new collection is scheduled"
                )
                continue
            opened = await self._open_batch(collected)
            while True:
                attempt = await self._manufacture(opened)
                if attempt.completed:
                    if recollected:
                        return "completed-after-recollection"
                    return "completed-after-remanufacture" if remanufactured else "completed"
                if attempt.decision is not None:
                    reopened = await self._follow(attempt.decision, attempt.lot)
                else:
                    if self._manufacturing_attempt >= p.max_manufacturing_attempts:
                        raise JourneyFailed(
                            f"{p.max_manufacturing_attempts} manufacturing attempt(s) used"
                        )
                    reopened = None
                    if attempt.lot is not None and attempt.lot.retained_aliquots_remaining > 0:
                        reopened = await self._remanufacture(attempt.lot)
                if reopened is None:
                    break
                remanufactured = True
                opened = reopened
            recollected = True
            await self._notify(NotificationReason.RECOLLECTION_NEEDED, "no retained material left")

    async def _collect(self) -> CollectionRecorded | None:
        """Schedule, collect, ship and receive the apheresis; None if it must be redone."""
        p, inp, n = self.inp.policy, self.inp, self._collection_attempt
        self._note(Stage.SCHEDULING, f"collection attempt {n}")
        answer = await self._schedule()
        self._current["collection_booking"] = answer.booking_id
        saga = self._saga()
        saga.add(
            "cancel-collection", self._cancel(answer.booking_id, "collection not made in time")
        )
        self._note(Stage.COLLECTION, f"collection on {answer.collection_date}")
        start = max(datetime.combine(answer.collection_date, time.min, UTC), workflow.now())
        collected = await self._wait_any(
            "collection", start + p.collection_due - workflow.now(), (CollectionRecorded, _any)
        )
        if not isinstance(collected, CollectionRecorded):
            await self._compensate(
                saga, NotificationReason.DEADLINE_MISSED, "collection not recorded"
            )
            return None
        self._done(saga)
        unit = collected.unit_id
        self._current.update(apheresis_unit=unit, din=collected.din)
        saga = self._saga()
        if workflow.patched(LATE_APHERESIS_FREES_SLOT):
            # Apheresis that never reaches manufacturing leaves its slot unused: free it.
            saga.add(
                "cancel-collection",
                self._cancel(answer.booking_id, "apheresis not received: its slot is not used"),
            )
        saga.add("reject-apheresis-unit", self._reject_unit(unit))
        saga.add(
            "cancel-inbound-shipment",
            self._cancel_booked(
                ShipmentBooked,
                lambda m: m.direction == ShipmentDirection.INBOUND and unit in m.unit_ids,
                lambda m: m.shipment_id,
                "apheresis past its stability window",
            ),
        )
        self._note(Stage.INBOUND_SHIPMENT, f"DIN {collected.din} collected, shipping fresh")
        await self._act(
            JourneyActivities.book_shipment,
            BookShipment(
                coi=inp.coi,
                direction=ShipmentDirection.INBOUND,
                temperature_class=TemperatureClass.FRESH_2_8,
                unit_ids=[unit],
                origin=collected.apheresis_center,
                destination=inp.manufacturing_site,
                attempt=n,
                actor=SYSTEM,
            ),
            "book inbound shipment (2-8 °C)",
        )
        window_ends = collected.collection_ended_at + p.fresh_window
        received = await self._wait_any(
            "apheresis-receipt",
            window_ends - workflow.now(),
            (
                UnitReceived,
                lambda m: m.unit_id == unit and m.location_kind == LocationKind.MANUFACTURING_SITE,
            ),
        )
        if received is None:
            self._failure = f"apheresis {collected.din} not received within its stability window"
            await self._compensate(saga, NotificationReason.APHERESIS_LATE, self._failure)
            return None
        self._done(saga)
        return collected

    # --- no slot now: ask again, people may decide ----------------------------------------

    async def _ask_for_slot(self) -> None:
        inp = self.inp
        await self._act(
            JourneyActivities.schedule_collection,
            ScheduleCollection(
                coi=inp.coi,
                apheresis_center=inp.apheresis_center,
                manufacturing_site=inp.manufacturing_site,
                earliest_date=max(inp.earliest_collection, workflow.now().date()),
                attempt=self._collection_attempt,
                actor=SYSTEM,
            ),
            "book collection + manufacturing slot",
        )

    async def _schedule(self) -> CollectionScheduled:
        """The collection booked with its manufacturing slot. When none can be booked now the
        journey notifies and waits (``_await_slot``); histories from before that failed."""
        n = self._collection_attempt
        await self._ask_for_slot()
        answer = await self._wait_any(
            "collection-scheduled",
            self.inp.policy.command_reply,
            (CollectionScheduled, lambda m: m.attempt == n),
            (CollectionUnschedulable, lambda m: m.attempt == n),
        )
        if isinstance(answer, CollectionScheduled):
            return answer
        reason = answer.reason if answer else "logistics did not answer"
        if not workflow.patched(WAIT_FOR_SLOT):
            raise JourneyFailed(f"no collection could be scheduled: {reason}")
        return await self._await_slot(reason)

    async def _await_slot(self, reason: str) -> CollectionScheduled:
        """Ask logistics again every ``slot_retry_every`` until a slot is booked or a
        coordinator decides (``logistics.scheduling.decided``: keep waiting, or end the
        journey). Each time ``slot_wait_due`` passes without either, notify again: the
        journey never gives up by itself."""
        p, n = self.inp.policy, self._collection_attempt
        scheduled = (CollectionScheduled, lambda m: m.attempt == n)
        refused = (CollectionUnschedulable, lambda m: m.attempt == n)
        decided = (SchedulingDecided, lambda m: m.attempt == n)
        every = _duration(p.slot_retry_every)
        self._note(Stage.AWAITING_SLOT, f"no collection could be scheduled: {reason}")
        await self._notify(
            NotificationReason.DEADLINE_MISSED,
            f"collection attempt {n} cannot be scheduled: {reason}. The journey asks again every "
            f"{every} until a slot is booked or a coordinator decides (keep-waiting or "
            f"end-journey: POST /collections/{self.inp.coi}/decision on logistics)",
        )
        since = workflow.now()
        remind_at = since + p.slot_wait_due
        while True:
            self._deadlines["slot-wait"] = remind_at
            got = await self._wait_any(
                "slot-retry", p.slot_retry_every, scheduled, decided, quiet=True
            )
            if got is None:
                while self._take([refused]) is not None:  # answers to earlier requests
                    pass
                await self._ask_for_slot()
                got = await self._wait_any(
                    "collection-scheduled", p.command_reply, scheduled, refused, decided, quiet=True
                )
            if isinstance(got, CollectionScheduled):
                self._deadlines.pop("slot-wait", None)
                self._note(
                    Stage.SCHEDULING, f"slot booked after waiting since {since:%Y-%m-%d %H:%M}"
                )
                return got
            if isinstance(got, SchedulingDecided):
                who = f"{got.actor.user_id} ({got.reason})"
                if got.decision == SchedulingDecision.END_JOURNEY:
                    self._deadlines.pop("slot-wait", None)
                    raise JourneyFailed(
                        f"no manufacturing slot: ended by decision of {who}",
                        outcome="ended-by-decision",
                    )
                self._note(Stage.AWAITING_SLOT, f"keep waiting, decided by {who}")
                remind_at = workflow.now() + p.slot_wait_due
            elif workflow.now() >= remind_at:
                await self._notify(
                    NotificationReason.DEADLINE_MISSED,
                    f"collection attempt {n}: still no manufacturing slot after "
                    f"{_duration(workflow.now() - since)}; the journey keeps asking and waits for "
                    "a coordinator's decision (keep-waiting or end-journey)",
                )
                remind_at = workflow.now() + p.slot_wait_due

    async def _open_batch(self, collected: CollectionRecorded) -> BatchOpened:
        self._manufacturing_attempt += 1
        n = self._manufacturing_attempt
        await self._act(
            JourneyActivities.open_batch,
            OpenBatch(
                coi=self.inp.coi,
                apheresis_unit_id=collected.unit_id,
                din=collected.din,
                manufacturing_site=self.inp.manufacturing_site,
                attempt=n,
                actor=SYSTEM,
                product_code=self.inp.product_code,
            ),
            f"open batch (attempt {n})",
        )
        opened = await self._wait_any(
            "batch-opened", self.inp.policy.command_reply, (BatchOpened, lambda m: m.attempt == n)
        )
        if not isinstance(opened, BatchOpened):
            raise JourneyFailed("the batch service did not open a batch")
        return opened

    async def _remanufacture(self, lot: LotProduced) -> BatchOpened | None:
        self._manufacturing_attempt += 1
        n = self._manufacturing_attempt
        await self._act(
            JourneyActivities.remanufacture,
            Remanufacture(coi=self.inp.coi, previous_lot_id=lot.lot_id, attempt=n, actor=SYSTEM),
            f"re-manufacture from retained material (attempt {n})",
        )
        answer = await self._wait_any(
            "batch-reopened",
            self.inp.policy.command_reply,
            (BatchOpened, lambda m: m.attempt == n),
            (RemanufactureRefused, lambda m: m.attempt == n),
        )
        if isinstance(answer, BatchOpened):
            await self._notify(NotificationReason.REMANUFACTURING, f"batch {answer.batch_id}")
            return answer
        return None

    async def _manufacture(self, opened: BatchOpened) -> Attempt:
        p, inp, n = self.inp.policy, self.inp, self._manufacturing_attempt
        self._current["batch"] = opened.batch_id
        self._note(Stage.MANUFACTURING, f"batch {opened.batch_id} from {opened.source.value}")
        lot = await self._wait_any(
            "lot-produced",
            p.manufacturing_due,
            (LotProduced, lambda m: m.batch_id == opened.batch_id),
        )
        if not isinstance(lot, LotProduced):
            self._failure = f"batch {opened.batch_id} produced no lot in time"
            await self._notify(NotificationReason.DEADLINE_MISSED, self._failure)
            return Attempt(completed=False)
        self._current["lot"] = lot.lot_id
        self._deviation = None
        saga = self._saga()
        saga.add("reject-lot", self._reject_lot(lot.lot_id))
        self._note(Stage.QC_TESTING, f"lot {lot.lot_id}: {len(lot.bag_ids)} bag(s) in quarantine")
        await self._act(
            JourneyActivities.order_panel,
            OrderPanel(
                coi=inp.coi,
                lot_id=lot.lot_id,
                product_code=inp.product_code,
                patient_weight_kg=inp.patient_weight_kg,
                attempt=n,
                actor=SYSTEM,
            ),
            "order QC release panel",
        )
        # Plan the way out while QC runs; undone if the lot does not make it.
        saga.add(
            "cancel-outbound-shipment",
            self._cancel_booked(
                ShipmentBooked,
                lambda m: m.direction == ShipmentDirection.OUTBOUND and m.attempt == n,
                lambda m: m.shipment_id,
                "lot not released",
            ),
        )
        await self._act(
            JourneyActivities.book_shipment,
            BookShipment(
                coi=inp.coi,
                direction=ShipmentDirection.OUTBOUND,
                temperature_class=TemperatureClass.CRYO_VAPOR,
                unit_ids=lot.bag_ids,
                origin=inp.manufacturing_site,
                destination=inp.treatment_center,
                attempt=n,
                actor=SYSTEM,
            ),
            "book outbound shipment (LN2 dry shipper)",
        )
        saga.add(
            "cancel-infusion-slot",
            self._cancel_booked(
                InfusionSlotBooked,
                lambda m: m.attempt == n,
                lambda m: m.booking_id,
                "lot not released",
            ),
        )
        await self._act(
            JourneyActivities.book_infusion_slot,
            BookInfusionSlot(
                coi=inp.coi,
                treatment_center=inp.treatment_center,
                earliest_date=workflow.now().date(),
                attempt=n,
                actor=SYSTEM,
            ),
            "hold infusion slot",
        )
        failure = await self._release_and_deliver(lot)
        if failure is None:
            self._done(saga)
            return Attempt(completed=True, lot=lot)
        self._failure = failure.detail
        await self._compensate(saga, failure.reason, self._failure, lot.lot_id)
        decision = await self._await_decision(lot) if failure.decide else None
        return Attempt(completed=False, lot=lot, decision=decision)

    async def _release_and_deliver(self, lot: LotProduced) -> Failure | None:
        p = self.inp.policy
        # Manufacturing may reject the lot at any moment after producing it: react at once.
        withdrawn = (LotRejected, lambda m: m.lot_id == lot.lot_id)
        evaluated = await self._wait_any(
            "qc-results", p.qc_due, (PanelEvaluated, lambda m: m.lot_id == lot.lot_id), withdrawn
        )
        if isinstance(evaluated, LotRejected):
            return self._withdrawn(evaluated)
        if not isinstance(evaluated, PanelEvaluated):
            return Failure(
                NotificationReason.DEADLINE_MISSED, f"QC results for lot {lot.lot_id} overdue"
            )
        if evaluated.outcome == PanelOutcome.OUT_OF_SPECIFICATION:
            self._deviation = evaluated.deviation_id
            if evaluated.deviation_id:
                self._current["deviation"] = evaluated.deviation_id
            failed = ", ".join(f"{f.code}={f.value} (limit {f.limit})" for f in evaluated.failures)
            return Failure(
                NotificationReason.QC_FAILED, f"lot {lot.lot_id} out of specification: {failed}"
            )
        self._note(Stage.QA_RELEASE, f"lot {lot.lot_id} in specification")
        decision = await self._wait_any(
            "qa-release",
            p.release_due,
            (LotReleased, lambda m: m.lot_id == lot.lot_id),
            (LotReleaseRejected, lambda m: m.lot_id == lot.lot_id),
            withdrawn,
        )
        if decision is None:
            return Failure(
                NotificationReason.DEADLINE_MISSED, f"QA decision on lot {lot.lot_id} overdue"
            )
        if isinstance(decision, LotRejected):
            return self._withdrawn(decision)
        if isinstance(decision, LotReleaseRejected):
            return Failure(
                NotificationReason.QC_FAILED, f"QA rejected lot {lot.lot_id}: {decision.reason}"
            )
        assert isinstance(decision, LotReleased)
        self._current["certificate"] = decision.certificate_id
        self._note(Stage.OUTBOUND_SHIPMENT, f"released by {decision.actor.user_id}")
        bags = set(lot.bag_ids)
        delivered = await self._wait_any(
            "delivery",
            p.delivery_due,
            (
                UnitReceived,
                lambda m: m.unit_id in bags and m.location_kind == LocationKind.TREATMENT_CENTER,
            ),
            withdrawn,
        )
        if isinstance(delivered, LotRejected):
            return self._withdrawn(delivered)
        if delivered is None:
            return Failure(
                NotificationReason.DEADLINE_MISSED, f"lot {lot.lot_id} not received in time"
            )
        self._note(Stage.INFUSION, f"received at {self.inp.treatment_center}")
        until = min(workflow.now() + p.infusion_due, lot.expires_at)
        infused = await self._wait_any(
            "infusion",
            until - workflow.now(),
            (InfusionRecorded, lambda m: bool(bags & set(m.unit_ids))),
            withdrawn,
        )
        if isinstance(infused, LotRejected):
            return self._withdrawn(infused)
        if infused is None:
            return Failure(
                NotificationReason.DEADLINE_MISSED,
                f"no infusion of lot {lot.lot_id} before the deadline",
            )
        return None

    def _withdrawn(self, rejected: LotRejected) -> Failure:
        self._deviation = rejected.deviation_id or self._deviation
        return Failure(
            NotificationReason.QC_FAILED,
            f"lot {rejected.lot_id} rejected by {rejected.actor.user_id}: {rejected.reason}",
            decide=True,
        )

    # --- people decide how to go on -------------------------------------------------------

    async def _await_decision(self, lot: LotProduced) -> RecoveryDecided:
        """Wait for people's recovery decision on ``lot``; never decide. Each time
        ``decision_due`` passes, notify again (escalation is the people's, not ours)."""
        self._note(Stage.AWAITING_DECISION, f"lot {lot.lot_id}: waiting for a recovery decision")
        while True:
            decided = await self._wait_any(
                "recovery-decision",
                self.inp.policy.decision_due,
                (RecoveryDecided, lambda m: m.lot_id == lot.lot_id),
            )
            if isinstance(decided, RecoveryDecided):
                self._note(
                    Stage.AWAITING_DECISION,
                    f"{decided.decision.value} decided by {decided.actor.user_id}",
                )
                return decided
            await self._notify(
                NotificationReason.DEADLINE_MISSED,
                f"recovery decision on lot {lot.lot_id} overdue: the journey is waiting",
                lot.lot_id,
            )

    async def _follow(
        self, decision: RecoveryDecided, lot: LotProduced | None
    ) -> BatchOpened | None:
        """Act on people's decision: a re-opened batch, or None for a new collection. What
        cannot be done is reported and a new decision awaited."""
        assert lot is not None
        p = self.inp.policy
        while True:
            who = f"{decision.actor.user_id} ({decision.reason})"
            if decision.decision == RecoveryDecision.END_JOURNEY:
                raise JourneyFailed(f"ended by decision of {who}", outcome="ended-by-decision")
            if decision.decision == RecoveryDecision.NEW_COLLECTION:
                return None
            if decision.decision != RecoveryDecision.REMANUFACTURE:
                refused = f"{decision.decision.value} is not something the journey can do"
            elif self._manufacturing_attempt >= p.max_manufacturing_attempts:
                refused = f"all {p.max_manufacturing_attempts} manufacturing attempts are used"
            else:
                reopened = await self._remanufacture(lot)
                if reopened is not None:
                    return reopened
                refused = "no retained apheresis material is left"
            await self._notify(
                NotificationReason.QC_FAILED,
                f"{decision.decision.value} decided by {who} cannot be done: {refused}; "
                "a new decision is needed",
                lot.lot_id,
            )
            decision = await self._await_decision(lot)

    # --- steps and compensations ----------------------------------------------------------

    async def _act(self, fn: Callable[..., Awaitable[str]], arg: Contract, summary: str) -> None:
        await workflow.execute_activity_method(
            fn,
            arg,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
            summary=summary,
        )

    def _saga(self) -> Compensations:
        saga = Compensations()
        self._sagas.append(saga)
        return saga

    def _done(self, saga: Compensations) -> None:
        if saga in self._sagas:
            self._sagas.remove(saga)

    async def _compensate(
        self,
        saga: Compensations,
        reason: NotificationReason,
        detail: str,
        lot_id: str | None = None,
    ) -> None:
        self._note(Stage.COMPENSATING, detail)
        done = await saga.run()
        self._done(saga)
        self._note(Stage.COMPENSATING, "compensated: " + (", ".join(done) or "nothing booked"))
        await self._notify(reason, detail, lot_id)

    def _cancel(self, booking_id: str, reason: str) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            await self._act(
                JourneyActivities.cancel_booking,
                CancelBooking(
                    coi=self.inp.coi, booking_id=booking_id, reason=clip(reason), actor=SYSTEM
                ),
                f"cancel booking {booking_id}",
            )

        return step

    def _cancel_booked(
        self,
        kind: type[C],
        match: Callable[[C], bool],
        booking_id: Callable[[C], str],
        reason: str,
    ) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            booked = self._peek(kind, match)
            if booked is None:  # the confirmation may still be on its way
                try:
                    await workflow.wait_condition(
                        lambda: self._peek(kind, match) is not None,
                        timeout=self.inp.policy.command_reply,
                    )
                except TimeoutError:
                    workflow.logger.warning("nothing booked to cancel for %s", kind.__name__)
                    return
                booked = self._peek(kind, match)
            assert booked is not None
            await self._cancel(booking_id(booked), reason)()

        return step

    def _reject_lot(self, lot_id: str) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            await self._act(
                JourneyActivities.reject_lot,
                RejectLot(
                    coi=self.inp.coi,
                    lot_id=lot_id,
                    reason=clip(self._failure or "journey compensation"),
                    deviation_id=self._deviation,
                    actor=SYSTEM,
                ),
                f"reject lot {lot_id}",
            )

        return step

    def _reject_unit(self, unit_id: str) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            await self._act(
                JourneyActivities.reject_unit,
                RejectUnit(
                    coi=self.inp.coi,
                    unit_id=unit_id,
                    reason=clip(self._failure or "journey compensation"),
                    actor=SYSTEM,
                ),
                f"reject unit {unit_id}",
            )

        return step

    async def _notify(
        self, reason: NotificationReason, detail: str, lot_id: str | None = None
    ) -> None:
        await self._act(
            JourneyActivities.notify_treatment_center,
            TreatmentCenterNotified(
                coi=self.inp.coi,
                treatment_center=self.inp.treatment_center,
                reason=reason,
                # composed from other messages' text (QC failures, a QA reason): keep it
                # within the contract's bound
                detail=clip(detail),
                lot_id=lot_id,
                deviation_id=self._deviation,
                notified_at=workflow.now(),
            ),
            f"notify treatment center: {reason.value}",
        )

    async def _end(self, status: Status, outcome: str, note: str) -> None:
        self._status, self._outcome = status, outcome
        self._deadlines.clear()
        self._note(Stage.DONE, f"{outcome}: {note}")
        workflow.upsert_search_attributes([SA_STATUS.value_set(status.value)])
        workflow.metric_meter().create_counter(
            "v2v_journeys_ended", "journeys ended, by status and outcome", "{journey}"
        ).add(1, {"status": status.value, "outcome": outcome})
        await self._act(
            JourneyActivities.announce_end,
            JourneyEnded(
                coi=self.inp.coi,
                status=status.value,
                outcome=outcome,
                manufacturing_attempts=self._manufacturing_attempt,
                collection_attempts=self._collection_attempt,
                ended_at=workflow.now(),
            ),
            f"journey {outcome}",
        )

    # --- events -----------------------------------------------------------------------------

    def _decode(self, sig: JourneySignal, kind: type[C]) -> C:
        return kind.model_validate(sig.data)

    def _peek(self, kind: type[C], match: Callable[[C], bool]) -> C | None:
        name = REGISTRY.for_model(kind).name
        for sig in self._events:
            if sig.type == name and sig.event_id not in self._consumed:
                msg = self._decode(sig, kind)
                if match(msg):
                    return msg
        return None

    def _take(self, matchers: Sequence[tuple[type[Any], Callable[[Any], bool]]]) -> Contract | None:
        for sig in self._events:
            if sig.event_id in self._consumed:
                continue
            for kind, match in matchers:
                if sig.type == REGISTRY.for_model(kind).name:
                    msg = self._decode(sig, kind)
                    if match(msg):
                        self._consumed.add(sig.event_id)
                        return msg  # type: ignore[no-any-return]
        return None

    async def _wait_any(
        self,
        name: str,
        within: timedelta,
        *matchers: tuple[type[Any], Callable[[Any], bool]],
        quiet: bool = False,
    ) -> Any:
        """The first matching event not yet used, or None when ``within`` has passed (noted
        in the history unless ``quiet``: a wait that is a retry period, not a deadline)."""
        found = self._take(matchers)
        if found is not None:
            return found
        self._deadlines[name] = workflow.now() + max(within, timedelta(0))
        box: list[Contract] = []

        def ready() -> bool:
            hit = self._take(matchers)
            if hit is not None:
                box.append(hit)
            return bool(box)

        try:
            if within > timedelta(0):
                await workflow.wait_condition(ready, timeout=within, timeout_summary=name)
        except TimeoutError:
            pass
        finally:
            self._deadlines.pop(name, None)
        if box:
            return box[0]
        if not quiet:
            self._note(self._stage, f"deadline passed: {name}")
        return None

    def _note(self, stage: Stage, note: str) -> None:
        if stage != self._stage or not self._history:
            workflow.upsert_search_attributes([SA_STAGE.value_set(stage.value)])
            now = workflow.now()
            if self._stage_since is not None:
                # Metrics are not recorded on replay: safe in workflow code.
                workflow.metric_meter().create_histogram_timedelta(
                    "v2v_journey_stage_duration", "time a journey spent in a stage", "duration"
                ).record(now - self._stage_since, {"stage": self._stage.value})
            self._stage_since = now
        self._stage = stage
        self._history.append(HistoryEntry(at=workflow.now(), stage=stage, note=note))


def _any(_: object) -> bool:
    return True


def _duration(span: timedelta) -> str:
    """``6h``, ``15s``, ``3d 2h``: a policy period as people read it."""
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")) if v]
    return " ".join(parts) or "0s"
