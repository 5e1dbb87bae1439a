"""A simulated world for workflow tests: activities with the journey's names that, instead
of publishing to Kafka, answer each command with the events the services would publish,
signalled back exactly as the bridge does."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle

from v2v_events import REGISTRY
from v2v_events.contracts import batch, custody, holds, journey, logistics, qc
from v2v_events.contracts.common import Actor, ShipmentDirection
from v2v_events.registry import Contract
from v2v_journey.bridge import signal_name
from v2v_journey.model import JourneySignal

OPERATOR = Actor(user_id="u-op", role="cell-therapy-specialist")
QA = Actor(user_id="u-qa", role="qa-reviewer")


async def signal_as_bridge(handle: WorkflowHandle[Any, Any], event: Contract) -> None:
    """Signal ``event`` to the journey as the bridge does with a service event (e.g. people's
    decisions, posted to a service while the journey waits)."""
    name = REGISTRY.for_model(type(event)).name
    sig = JourneySignal(
        event_id=str(uuid.uuid4()),
        type=name,
        time=datetime.now(UTC),
        data=event.model_dump(mode="json"),
    )
    await handle.signal(signal_name(name), sig)


@dataclass
class Scenario:
    qc_in_spec: list[bool] = field(default_factory=lambda: [True])
    retained_aliquots: int = 1
    late_receipt_attempts: set[int] = field(default_factory=set)
    duplicate_events: bool = False
    # attempts whose lot manufacturing finds failed after QA released it (instead of shipping)
    withdrawn_after_release: set[int] = field(default_factory=set)
    # attempts whose released lot QA holds before delivery; once the journey has cancelled
    # its lymphodepletion, QA lifts the hold ("lift") or rejects the lot ("reject")
    held_after_release: dict[int, str] = field(default_factory=dict)
    failed_value: str = "61.0"  # the value a failing QC test reports
    # how many ScheduleCollection requests logistics refuses (no free slot) before one frees
    refused_schedules: int = 0
    unanswered_schedules: int = 0  # requests logistics never answers (before any refusal)
    # after an out-of-specification result or QA's rejection before release the journey
    # waits for people: QA here decides re-manufacture while retained material is left,
    # else a new collection, and ends the journey when told a decision cannot be done
    qa_decides_after_qc: bool = True


class World:
    def __init__(self, client: Client, scenario: Scenario) -> None:
        self.client = client
        self.s = scenario
        self.commands: list[tuple[str, Contract]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._n = 0
        self._retained = 0
        self._released: set[int] = set()
        self._withdrawn: set[int] = set()
        self._outbound: dict[int, list[str]] = {}
        self._refused = 0
        self._unanswered = 0
        self._held: set[int] = set()
        self._slots: dict[int, int] = {}  # infusion slots booked per attempt
        self.final_view: Any = None

    # --- plumbing ---------------------------------------------------------------------

    def names(self) -> list[str]:
        return [name for name, _ in self.commands]

    def sent(self, kind: type[Contract]) -> list[Any]:
        return [c for _, c in self.commands if isinstance(c, kind)]

    def _emit(self, coi: str, *events: Contract) -> None:
        wf = activity.info().workflow_id

        async def go() -> None:
            handle = self.client.get_workflow_handle(wf)
            for ev in events:
                self._n += 1
                sig = JourneySignal(
                    event_id=f"ev-{self._n}",
                    type=REGISTRY.for_model(type(ev)).name,
                    time=datetime.now(UTC),
                    data=ev.model_dump(mode="json"),
                )
                for _ in range(2 if self.s.duplicate_events else 1):
                    await handle.signal(signal_name(sig.type), sig)

        task = asyncio.get_running_loop().create_task(go())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _record(self, name: str, cmd: Contract) -> None:
        self.commands.append((name, cmd))

    def _last_step(self, coi: str, batch_id: str) -> batch.MbrStepRecorded:
        """The batch's last step, executed from its MBR (the journey shows its progress)."""
        now = datetime.now(UTC)
        return batch.MbrStepRecorded(
            coi=coi,
            batch_id=batch_id,
            mbr=batch.MbrRef(product_code="S1234", site="site-1", version=1),
            step_id="ln2-transfer",
            step_name="Transfer to vapour-phase LN2",
            operation_name="Cryopreservation and storage",
            position=14,
            step_count=14,
            room="LN2-ROOM",
            started_at=now - timedelta(minutes=20),
            ended_at=now - timedelta(minutes=10),
            actor=OPERATOR,
        )

    def _lot(self, coi: str, batch_id: str, attempt: int) -> batch.LotProduced:
        now = datetime.now(UTC)
        return batch.LotProduced(
            coi=coi,
            batch_id=batch_id,
            lot_id=f"L{attempt}",
            bag_ids=[f"L{attempt}-bag1"],
            total_viable_cells=5e8,
            viability_pct=88,
            retained_aliquots_remaining=self._retained,
            manufacturing_site="site-1",
            produced_at=now,
            expires_at=now + timedelta(days=365),
            attempt=attempt,
            actor=OPERATOR,
        )

    def _hold(self, attempt: int) -> holds.HoldPlaced:
        return holds.HoldPlaced(
            hold_id=f"H-L{attempt}",
            item_kind=holds.HoldItemKind.LOT,
            item_id=f"L{attempt}",
            reason="sterility (14-day compendial) positive after conditional release",
            placed_at=datetime.now(UTC),
            placed_by=QA,
        )

    def _maybe_deliver(self, coi: str, attempt: int) -> None:
        if attempt in self._released and attempt in self._outbound:
            now = datetime.now(UTC)
            if attempt in self.s.withdrawn_after_release and attempt not in self._withdrawn:
                self._withdrawn.add(attempt)  # once: booked again, the lot is delivered
                self._emit(
                    coi,
                    batch.ManufacturingFailed(
                        coi=coi,
                        lot_id=f"L{attempt}",
                        batch_id=f"B{attempt}",
                        reason="bag integrity failure found after release",
                        failed_at=now,
                        actor=OPERATOR,
                    ),
                )
                return
            if attempt in self.s.held_after_release and attempt not in self._held:
                return  # held once its infusion is booked (book_lymphodepletion)
            bag = self._outbound[attempt][0]
            self._emit(
                coi,
                custody.UnitReceived(
                    coi=coi,
                    unit_id=bag,
                    unit_kind=custody.UnitKind.FINAL_PRODUCT,
                    location="tc-1",
                    location_kind=custody.LocationKind.TREATMENT_CENTER,
                    received_at=now,
                    transfer_id=f"T-{bag}",
                    actor=OPERATOR,
                ),
                custody.InfusionRecorded(
                    coi=coi,
                    unit_ids=[bag],
                    treatment_center="tc-1",
                    thawed_at=now,
                    infused_at=now,
                    actor=OPERATOR,
                ),
            )

    # --- the activities ---------------------------------------------------------------

    @activity.defn(name="schedule-collection")
    async def schedule_collection(self, cmd: logistics.ScheduleCollection) -> str:
        self._record("schedule-collection", cmd)
        self._retained = self.s.retained_aliquots
        now = datetime.now(UTC)
        n = cmd.attempt
        if self._unanswered < self.s.unanswered_schedules:
            self._unanswered += 1
            return "ok"
        if self._refused < self.s.refused_schedules:
            self._refused += 1
            self._emit(
                cmd.coi,
                logistics.CollectionUnschedulable(
                    coi=cmd.coi,
                    manufacturing_site=cmd.manufacturing_site,
                    searched_from=cmd.earliest_date + timedelta(days=1),
                    searched_until=cmd.earliest_date + timedelta(days=28),
                    reason=f"no free manufacturing slot at {cmd.manufacturing_site}",
                    attempt=n,
                ),
            )
            return "ok"
        self._emit(
            cmd.coi,
            logistics.CollectionScheduled(
                coi=cmd.coi,
                booking_id=f"C{n}",
                apheresis_center=cmd.apheresis_center,
                collection_date=cmd.earliest_date,
                manufacturing_site=cmd.manufacturing_site,
                manufacturing_slot_date=cmd.earliest_date + timedelta(days=1),
                attempt=n,
                actor=cmd.actor,
            ),
            custody.CollectionRecorded(
                coi=cmd.coi,
                din=f"A1B2C26{n:06d}",
                din_check="H",
                unit_id=f"U{n}",
                apheresis_center=cmd.apheresis_center,
                volume_ml=200,
                total_nucleated_cells=1e10,
                collection_started_at=now - timedelta(hours=3),
                collection_ended_at=now,
                actor=OPERATOR,
            ),
        )
        return "ok"

    @activity.defn(name="book-shipment")
    async def book_shipment(self, cmd: logistics.BookShipment) -> str:
        self._record("book-shipment", cmd)
        sid = f"S-{cmd.direction.value}-{cmd.attempt}"
        self._emit(
            cmd.coi,
            logistics.ShipmentBooked(
                coi=cmd.coi,
                shipment_id=sid,
                direction=cmd.direction,
                temperature_class=cmd.temperature_class,
                unit_ids=cmd.unit_ids,
                origin=cmd.origin,
                destination=cmd.destination,
                attempt=cmd.attempt,
                actor=cmd.actor,
            ),
        )
        if cmd.direction == ShipmentDirection.INBOUND:
            if cmd.attempt not in self.s.late_receipt_attempts:
                self._emit(
                    cmd.coi,
                    custody.UnitReceived(
                        coi=cmd.coi,
                        unit_id=cmd.unit_ids[0],
                        unit_kind=custody.UnitKind.APHERESIS,
                        location=cmd.destination,
                        location_kind=custody.LocationKind.MANUFACTURING_SITE,
                        received_at=datetime.now(UTC),
                        transfer_id=f"T-{cmd.unit_ids[0]}",
                        actor=OPERATOR,
                    ),
                )
        else:
            self._outbound[cmd.attempt] = cmd.unit_ids
            self._maybe_deliver(cmd.coi, cmd.attempt)
        return "ok"

    @activity.defn(name="book-infusion-slot")
    async def book_infusion_slot(self, cmd: logistics.BookInfusionSlot) -> str:
        self._record("book-infusion-slot", cmd)
        n = self._slots[cmd.attempt] = self._slots.get(cmd.attempt, 0) + 1
        gap = timedelta(days=max(3, cmd.lymphodepletion_gap_days or 0))
        start = cmd.earliest_date + timedelta(days=1)
        self._emit(
            cmd.coi,
            logistics.InfusionSlotBooked(
                coi=cmd.coi,
                booking_id=f"I{cmd.attempt}" + ("" if n == 1 else f"-{n}"),
                treatment_center=cmd.treatment_center,
                infusion_date=start + gap,
                lymphodepletion_start=start,
                attempt=cmd.attempt,
                actor=cmd.actor,
            ),
        )
        return "ok"

    @activity.defn(name="book-lymphodepletion")
    async def book_lymphodepletion(self, cmd: logistics.BookLymphodepletion) -> str:
        self._record("book-lymphodepletion", cmd)
        self._emit(
            cmd.coi,
            logistics.LymphodepletionBooked(
                coi=cmd.coi,
                booking_id=f"LD-{cmd.infusion_booking_id}",
                treatment_center=cmd.treatment_center,
                start_date=cmd.start_date,
                infusion_booking_id=cmd.infusion_booking_id,
                infusion_date=cmd.start_date + timedelta(days=5),
                attempt=cmd.attempt,
                actor=cmd.actor,
            ),
        )
        n = cmd.attempt
        if n in self.s.held_after_release and n not in self._held:
            self._held.add(n)
            self._emit(cmd.coi, self._hold(n))
        return "ok"

    @activity.defn(name="cancel-booking")
    async def cancel_booking(self, cmd: logistics.CancelBooking) -> str:
        self._record("cancel-booking", cmd)
        n = next((a for a in self._held if cmd.booking_id == f"I{a}"), None)
        if n is not None:  # the journey cancelled the held product's bookings: QA decides
            now = datetime.now(UTC)
            if self.s.held_after_release[n] == "lift":
                placed = self._hold(n)
                self._emit(
                    cmd.coi,
                    holds.HoldReleased(
                        hold_id=placed.hold_id,
                        item_kind=placed.item_kind,
                        item_id=placed.item_id,
                        reason="negative on retest; investigation closed",
                        released_at=now,
                        released_by=QA,
                    ),
                )
                self._maybe_deliver(cmd.coi, n)
            else:
                self._emit(
                    cmd.coi,
                    qc.LotReleaseRejected(
                        coi=cmd.coi,
                        lot_id=f"L{n}",
                        panel_id=f"P{n}",
                        reason="sterility confirmed positive",
                        decided_at=now,
                        actor=QA,
                    ),
                )
        return "ok"

    @activity.defn(name="open-batch")
    async def open_batch(self, cmd: batch.OpenBatch) -> str:
        self._record("open-batch", cmd)
        bid = f"B{cmd.attempt}"
        self._emit(
            cmd.coi,
            batch.BatchOpened(
                coi=cmd.coi,
                batch_id=bid,
                manufacturing_site=cmd.manufacturing_site,
                source=batch.MaterialSource.FRESH_APHERESIS,
                apheresis_unit_id=cmd.apheresis_unit_id,
                attempt=cmd.attempt,
                opened_at=datetime.now(UTC),
                actor=cmd.actor,
            ),
            self._last_step(cmd.coi, bid),
            self._lot(cmd.coi, bid, cmd.attempt),
        )
        return "ok"

    @activity.defn(name="remanufacture-from-retained-material")
    async def remanufacture(self, cmd: batch.Remanufacture) -> str:
        self._record("remanufacture-from-retained-material", cmd)
        if self._retained <= 0:
            self._emit(
                cmd.coi,
                batch.RemanufactureRefused(
                    coi=cmd.coi,
                    previous_lot_id=cmd.previous_lot_id,
                    reason="none left",
                    attempt=cmd.attempt,
                ),
            )
            return "ok"
        self._retained -= 1
        bid = f"B{cmd.attempt}"
        self._emit(
            cmd.coi,
            batch.BatchOpened(
                coi=cmd.coi,
                batch_id=bid,
                manufacturing_site="site-1",
                source=batch.MaterialSource.RETAINED_APHERESIS,
                apheresis_unit_id="U",
                attempt=cmd.attempt,
                opened_at=datetime.now(UTC),
                actor=cmd.actor,
            ),
            self._lot(cmd.coi, bid, cmd.attempt),
        )
        return "ok"

    @activity.defn(name="request-hold")
    async def place_hold(self, cmd: holds.PlaceHold) -> str:
        self._record("request-hold", cmd)
        return "ok"

    @activity.defn(name="reject-lot")
    async def reject_lot(self, cmd: batch.RejectLot) -> str:
        self._record("reject-lot", cmd)
        return "ok"

    @activity.defn(name="reject-unit")
    async def reject_unit(self, cmd: custody.RejectUnit) -> str:
        self._record("reject-unit", cmd)
        return "ok"

    @activity.defn(name="order-qc-panel")
    async def order_panel(self, cmd: qc.OrderPanel) -> str:
        self._record("order-qc-panel", cmd)
        ok = self.s.qc_in_spec[cmd.attempt - 1]
        now = datetime.now(UTC)
        evaluated = qc.PanelEvaluated(
            coi=cmd.coi,
            panel_id=f"P{cmd.attempt}",
            lot_id=cmd.lot_id,
            outcome=qc.PanelOutcome.IN_SPECIFICATION
            if ok
            else qc.PanelOutcome.OUT_OF_SPECIFICATION,
            failures=[]
            if ok
            else [qc.TestFailure(code="viability", value=self.s.failed_value, limit=">= 70")],
            deviation_id=None if ok else f"DEV-{cmd.attempt}",
            evaluated_at=now,
        )
        events: list[Contract] = [evaluated]
        if ok:
            events.append(
                qc.LotReleased(
                    coi=cmd.coi,
                    lot_id=cmd.lot_id,
                    panel_id=f"P{cmd.attempt}",
                    certificate_id=f"COA-{cmd.attempt}",
                    decided_at=now,
                    actor=QA,
                )
            )
            self._released.add(cmd.attempt)
        self._emit(cmd.coi, *events)
        self._maybe_deliver(cmd.coi, cmd.attempt)
        return "ok"

    @activity.defn(name="notify-treatment-center")
    async def notify_treatment_center(self, ev: journey.TreatmentCenterNotified) -> str:
        self._record("notify-treatment-center", ev)
        self._qa_decides(ev)
        return "ok"

    def _qa_decides(self, ev: journey.TreatmentCenterNotified) -> None:
        """QA's recovery decision, as QC would publish it, on the lot the journey reported."""
        if not self.s.qa_decides_after_qc or ev.reason != journey.NotificationReason.QC_FAILED:
            return
        if ev.lot_id is None:
            return
        if "cannot be done" in ev.detail:
            decision = qc.RecoveryDecision.END_JOURNEY
        elif "out of specification" in ev.detail or ev.detail.startswith("QA rejected lot"):
            decision = (
                qc.RecoveryDecision.REMANUFACTURE
                if self._retained > 0
                else qc.RecoveryDecision.NEW_COLLECTION
            )
        else:
            return
        self._emit(
            ev.coi,
            qc.RecoveryDecided(
                coi=ev.coi,
                lot_id=ev.lot_id,
                decision=decision,
                reason="QA decided with the treating physician",
                decided_at=datetime.now(UTC),
                actor=Actor(user_id="u-qa", role="qa-reviewer"),
            ),
        )

    @activity.defn(name="announce-journey-end")
    async def announce_end(self, ev: journey.JourneyEnded) -> str:
        self._record("announce-journey-end", ev)
        return "ok"

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.schedule_collection,
            self.book_shipment,
            self.book_infusion_slot,
            self.book_lymphodepletion,
            self.cancel_booking,
            self.open_batch,
            self.remanufacture,
            self.place_hold,
            self.reject_lot,
            self.reject_unit,
            self.order_panel,
            self.notify_treatment_center,
            self.announce_end,
        ]
