"""The vein-to-vein journey of one patient: one workflow, id ``journey-<CoI>``.

It acts only through activities that publish commands, and learns only from service
events that the bridge turns into signals. Every wait has a deadline from the product's
policy. Lymphodepletion and the infusion slot are booked only once QA released the lot. When
QC fails, QA rejects or a deadline passes, the steps already booked are compensated in
reverse order (cancel lymphodepletion, the infusion slot and the outbound shipment, ask QC to
hold the lot — a compensation never rejects, disposition is QA's), the treatment center is
notified, and the journey recovers: re-manufacture from retained apheresis material when some
remains, otherwise a new collection, within bounded attempts. With none left the journey
fails, every compensation done. A released product held before infusion cancels its
bookings and waits for QA (``product_holds``).

When manufacturing finds the lot failed after producing it (even after QA released it), the
journey reacts at once: it compensates what is booked, notifies, and then waits for people's
recovery decision (``qc.recovery.decided``) — re-manufacture, a new collection, exceptional
release of an out-of-specification lot (it then waits for ``qc.lot.exceptionally-released``
and ships and infuses the lot; ``exceptional``) or the end of the journey — never choosing by
itself; each time ``decision_due`` passes it notifies again.

The stages are told in their own modules: ``collection`` (with ``scheduling``),
``manufacturing`` (with ``release``, ``booking`` and delivery), ``recovery`` (people's
decisions); the compensations in ``saga``; how it acts, waits and notes in ``mechanics``;
the events it listens to in ``listens``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from v2v_events.contracts.batch import LotProduced
    from v2v_events.contracts.journey import NotificationReason

    from .model import (
        SA_COI,
        SA_SITE,
        SA_STATUS,
        SA_THERAPY,
        JourneyInput,
        JourneySignal,
        JourneyView,
        Stage,
        Status,
    )

from .collection import Collection
from .exceptional import ExceptionalDelivery
from .manufacturing import Manufacturing
from .mechanics import JourneyFailed


@workflow.defn(name="Journey")
class JourneyWorkflow(Collection, ExceptionalDelivery, Manufacturing):
    @workflow.signal(dynamic=True)
    def on_service_event(self, name: str, args: Sequence[RawValue]) -> None:
        """Every service event arrives as a signal named after its type; the bridge delivers
        at least once, the mailbox keeps each event once."""
        sig = workflow.payload_converter().from_payload(args[0].payload, JourneySignal)
        self._mailbox.receive(sig)

    @workflow.query(name="status")
    def status(self) -> JourneyView:
        return self._view()

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
            await self._compensate_all()
            await self._end(Status.CANCELLED, "cancelled", "cancelled by an operator")
            raise
        await self._end(Status.COMPLETED, outcome, "infusion recorded")
        return self.status()

    async def _journey(self) -> str:
        """Collect, manufacture, release and deliver until infused. A failed lot is made
        again from retained material (or as people decide); otherwise collect again."""
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
                    followed = await self._follow(attempt.decision, attempt.lot)
                    if isinstance(followed, LotProduced):  # infused after exceptional release
                        return "completed-after-exceptional-release"
                    reopened = followed
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
