"""Manufacturing one attempt: open the batch, wait for the lot, order its QC panel and book
the outbound cryo shipment while QC runs; lymphodepletion and the infusion slot only once QA
released the lot (``booking``), then delivery. A lot that does not reach the patient is
compensated (ask QC to hold it — never reject it, disposition is QA's —, cancel what was
booked for it) and, when manufacturing found it failed, people decide how to go on."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from v2v_events.contracts.batch import BatchOpened, LotProduced, OpenBatch
    from v2v_events.contracts.custody import CollectionRecorded
    from v2v_events.contracts.journey import NotificationReason
    from v2v_events.contracts.logistics import (
        BookInfusionSlot,
        InfusionSlotBooked,
    )
    from v2v_events.contracts.qc import OrderPanel, RecoveryDecided

    from .activities import JourneyActivities
    from .mailbox import Expect
    from .model import Stage

from .booking import BOOK_AFTER_RELEASE
from .mechanics import SYSTEM, JourneyFailed
from .recovery import Recovery
from .release import ReleaseAndDelivery
from .saga import Compensations, JourneySaga


@dataclass
class Attempt:
    """How one manufacturing attempt ended, and what people decided if they had to."""

    completed: bool
    lot: LotProduced | None = None
    decision: RecoveryDecided | None = None


class Manufacturing(ReleaseAndDelivery, Recovery, JourneySaga):
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
            "batch-opened",
            self.inp.policy.command_reply,
            Expect(BatchOpened, lambda m: m.attempt == n),
        )
        if not isinstance(opened, BatchOpened):
            raise JourneyFailed("the batch service did not open a batch")
        return opened

    async def _manufacture(self, opened: BatchOpened) -> Attempt:
        p, inp, n = self.inp.policy, self.inp, self._manufacturing_attempt
        self._current["batch"] = opened.batch_id
        self._note(Stage.MANUFACTURING, f"batch {opened.batch_id} from {opened.source.value}")
        lot = await self._wait_any(
            "lot-produced",
            p.manufacturing_due,
            Expect(LotProduced, lambda m: m.batch_id == opened.batch_id),
        )
        if not isinstance(lot, LotProduced):
            self._failure = f"batch {opened.batch_id} produced no lot in time"
            await self._notify(
                NotificationReason.DEADLINE_MISSED, self._failure, deadline="lot-produced"
            )
            return Attempt(completed=False)
        self._current["lot"] = lot.lot_id
        self._deviation = None
        saga = self._saga()
        saga.add("hold-lot", self._hold_lot(lot.lot_id))
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
        # The courier is planned while QC runs; undone if the lot does not make it.
        await self._book_outbound(
            lot, saga, "lot not released", "book outbound shipment (LN2 dry shipper)"
        )
        bookings: Compensations | None = None
        if workflow.patched(BOOK_AFTER_RELEASE):
            # lymphodepletion and the infusion slot: booked only for a released product
            bookings = self._saga()
            saga.add("cancel-infusion-bookings", self._run_bookings(bookings))
        else:  # journeys that booked the infusion slot while QC ran replay that
            saga.add(
                "cancel-infusion-slot",
                self._cancel_booked(
                    Expect(InfusionSlotBooked, lambda m: m.attempt == n),
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
        failure = await self._release_and_deliver(lot, bookings)
        if failure is None:
            if bookings is not None:
                self._done(bookings)
            self._done(saga)
            return Attempt(completed=True, lot=lot)
        self._failure = failure.detail
        await self._compensate(
            saga, failure.reason, self._failure, lot.lot_id, deadline=failure.deadline
        )
        decision = await self._await_decision(lot) if failure.decide else None
        return Attempt(completed=False, lot=lot, decision=decision)
