"""Exceptional release of an out-of-specification lot, once people decided it
(``qc.recovery.decided``: ``exceptional-release``): the journey waits for QA's decision in QC
(``qc.lot.exceptionally-released``, after the treating physician's request and the risk
assessment), notifying each time the policy's ``release_due`` passes — it never decides —
then books the way out again (the compensation cancelled it): the outbound shipment, then
the infusion slot and lymphodepletion, and delivers as after a release."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from v2v_events.contracts.batch import LotProduced
    from v2v_events.contracts.exceptional_release import LotExceptionallyReleased
    from v2v_events.contracts.journey import NotificationReason

    from .mailbox import Expect
    from .model import Stage

from .release import Failure, ReleaseAndDelivery
from .saga import JourneySaga


class ExceptionalDelivery(ReleaseAndDelivery, JourneySaga):
    async def _exceptionally(self, lot: LotProduced) -> Failure | None:
        """None once the lot is infused; a Failure (compensated, notified) when it was not
        delivered or infused in time, or manufacturing withdrew it."""
        self._note(Stage.QA_RELEASE, f"lot {lot.lot_id}: waiting for QA's exceptional release")
        while True:
            released = await self._wait_any(
                "exceptional-release",
                self.inp.policy.release_due,
                Expect(LotExceptionallyReleased, lambda m: m.lot_id == lot.lot_id),
            )
            if isinstance(released, LotExceptionallyReleased):
                break
            await self._notify(
                NotificationReason.DEADLINE_MISSED,
                f"exceptional release of lot {lot.lot_id} overdue: the journey is waiting",
                lot.lot_id,
                deadline="exceptional-release",
            )
        self._note(
            Stage.OUTBOUND_SHIPMENT,
            f"released exceptionally ({released.decision_ref}) by {released.actor.user_id}",
        )
        saga = self._saga()
        # the outbound shipment, booked again for this attempt (the compensation cancelled
        # it); the infusion slot and lymphodepletion follow in delivery, as after a release
        await self._book_outbound(
            lot,
            saga,
            "exceptionally released lot not delivered",
            "book outbound shipment (exceptional release)",
        )
        # lymphodepletion and the infusion slot: booked now the product is released
        bookings = self._saga()
        saga.add("cancel-infusion-bookings", self._run_bookings(bookings))
        failure = await self._deliver(lot, bookings)
        if failure is None:
            self._done(bookings)
            self._done(saga)
            return None
        self._failure = failure.detail
        await self._compensate(saga, failure.reason, failure.detail, lot.lot_id)
        return failure
