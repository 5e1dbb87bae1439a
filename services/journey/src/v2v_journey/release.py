"""Release and delivery of a produced lot: QC results, QA's decision, then — only for a
released product — the infusion booked (``booking``), receipt at the treatment center,
infusion. Manufacturing may find the lot failed (``ManufacturingFailed``; before issue 16
``LotRejected``) at any moment after producing it, even after QA released it: the journey
reacts at once. A released product held before infusion cancels its bookings and waits for
QA (``product_holds``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from v2v_events.contracts.batch import LotProduced, LotRejected, ManufacturingFailed
    from v2v_events.contracts.custody import InfusionRecorded, LocationKind, UnitReceived
    from v2v_events.contracts.holds import HoldPlaced
    from v2v_events.contracts.journey import NotificationReason
    from v2v_events.contracts.qc import (
        LotReleased,
        LotReleaseRejected,
        PanelEvaluated,
        PanelOutcome,
    )

    from .mailbox import Expect
    from .model import Stage

from .booking import InfusionBooking
from .product_holds import ProductHolds
from .saga import Compensations

# workflow.patched id: histories recorded before it replay the old way
PEOPLE_DECIDE_AFTER_QC = "people-decide-after-qc"  # was: OOS / QA rejection → re-made by rule


@dataclass
class Failure:
    """Why a lot did not reach the patient; ``decide``: people choose how to go on."""

    reason: NotificationReason
    detail: str
    decide: bool = False
    deadline: str | None = None  # the deadline that passed, if one did


class ReleaseAndDelivery(InfusionBooking, ProductHolds):
    def _withdrawals(self, lot: LotProduced) -> tuple[Expect[Any], ...]:
        """Manufacturing's finding that the lot failed (and the event it replaced)."""
        failed: Expect[ManufacturingFailed] = Expect(
            ManufacturingFailed, lambda m: m.lot_id == lot.lot_id
        )
        rejected: Expect[LotRejected] = Expect(LotRejected, lambda m: m.lot_id == lot.lot_id)
        return failed, rejected

    async def _release_and_deliver(
        self, lot: LotProduced, bookings: Compensations | None
    ) -> Failure | None:
        """``bookings``: where the infusion bookings made after release are registered; None
        for a journey that booked its infusion slot while QC ran (before issue 16)."""
        p = self.inp.policy
        withdrawn = self._withdrawals(lot)
        evaluated = await self._wait_any(
            "qc-results",
            p.qc_due,
            Expect(PanelEvaluated, lambda m: m.lot_id == lot.lot_id),
            # a conditional release comes before the last results (and their evaluation)
            Expect(LotReleased, lambda m: m.lot_id == lot.lot_id),
            *withdrawn,
        )
        if isinstance(evaluated, ManufacturingFailed | LotRejected):
            return self._withdrawn(evaluated)
        if isinstance(evaluated, LotReleased):
            return await self._released(lot, evaluated, bookings)
        if not isinstance(evaluated, PanelEvaluated):
            return Failure(
                NotificationReason.DEADLINE_MISSED,
                f"QC results for lot {lot.lot_id} overdue",
                deadline="qc-results",
            )
        if evaluated.outcome == PanelOutcome.OUT_OF_SPECIFICATION:
            self._deviation = evaluated.deviation_id
            if evaluated.deviation_id:
                self._current["deviation"] = evaluated.deviation_id
            failed = ", ".join(f"{f.code}={f.value} (limit {f.limit})" for f in evaluated.failures)
            return Failure(
                NotificationReason.QC_FAILED,
                f"lot {lot.lot_id} out of specification: {failed}",
                decide=workflow.patched(PEOPLE_DECIDE_AFTER_QC),
            )
        self._note(Stage.QA_RELEASE, f"lot {lot.lot_id} in specification")
        decision = await self._wait_any(
            "qa-release",
            p.release_due,
            Expect(LotReleased, lambda m: m.lot_id == lot.lot_id),
            Expect(LotReleaseRejected, lambda m: m.lot_id == lot.lot_id),
            *withdrawn,
        )
        if decision is None:
            return Failure(
                NotificationReason.DEADLINE_MISSED,
                f"QA decision on lot {lot.lot_id} overdue",
                deadline="qa-release",
            )
        if isinstance(decision, ManufacturingFailed | LotRejected):
            return self._withdrawn(decision)
        if isinstance(decision, LotReleaseRejected):
            return Failure(
                NotificationReason.QC_FAILED,
                f"QA rejected lot {lot.lot_id}: {decision.reason}",
                decide=workflow.patched(PEOPLE_DECIDE_AFTER_QC),
            )
        assert isinstance(decision, LotReleased)
        return await self._released(lot, decision, bookings)

    async def _released(
        self, lot: LotProduced, released: LotReleased, bookings: Compensations | None
    ) -> Failure | None:
        self._current["certificate"] = released.certificate_id
        how = "conditionally " if released.conditional else ""
        self._note(Stage.OUTBOUND_SHIPMENT, f"{how}released by {released.actor.user_id}")
        return await self._deliver(lot, bookings)

    async def _deliver(self, lot: LotProduced, bookings: Compensations | None) -> Failure | None:
        p = self.inp.policy
        bags = set(lot.bag_ids)
        withdrawn = self._withdrawals(lot)
        # a hold matters only to a journey that books after release (bookings to cancel)
        held = () if bookings is None else (self._holds_placed(lot),)
        book, received = bookings is not None, False
        while True:
            if book and bookings is not None:
                await self._book_infusion(bookings)
                book = False
            if not received:
                got = await self._wait_any(
                    "delivery",
                    p.delivery_due,
                    Expect(
                        UnitReceived,
                        lambda m: (
                            m.unit_id in bags and m.location_kind == LocationKind.TREATMENT_CENTER
                        ),
                    ),
                    *withdrawn,
                    *held,
                )
                if got is None:
                    return Failure(
                        NotificationReason.DEADLINE_MISSED,
                        f"lot {lot.lot_id} not received in time",
                        deadline="delivery",
                    )
            else:
                until = min(workflow.now() + p.infusion_due, lot.expires_at)
                got = await self._wait_any(
                    "infusion",
                    until - workflow.now(),
                    Expect(InfusionRecorded, lambda m: bool(bags & set(m.unit_ids))),
                    *withdrawn,
                    *held,
                )
                if got is None:
                    return Failure(
                        NotificationReason.DEADLINE_MISSED,
                        f"no infusion of lot {lot.lot_id} before the deadline",
                        deadline="infusion",
                    )
            if isinstance(got, ManufacturingFailed | LotRejected):
                return self._withdrawn(got)
            if isinstance(got, HoldPlaced):
                assert bookings is not None
                active = self._still_held(got, lot)
                if not active:
                    continue  # placed and lifted already (e.g. before QA released the lot)
                await bookings.run()
                ended = await self._await_qa(lot, active, got, *withdrawn)
                if isinstance(ended, ManufacturingFailed | LotRejected):
                    return self._withdrawn(ended)
                if isinstance(ended, LotReleaseRejected):
                    return Failure(
                        NotificationReason.QC_FAILED,
                        f"QA rejected held lot {lot.lot_id}: {ended.reason}",
                        decide=True,
                    )
                book = True
                continue
            if isinstance(got, UnitReceived):
                received = True
                self._note(Stage.INFUSION, f"received at {self.inp.treatment_center}")
                continue
            assert isinstance(got, InfusionRecorded)
            return None

    def _withdrawn(self, failed: ManufacturingFailed | LotRejected) -> Failure:
        self._deviation = failed.deviation_id or self._deviation
        return Failure(
            NotificationReason.QC_FAILED,
            f"lot {failed.lot_id}: manufacturing failed, recorded by {failed.actor.user_id}: "
            f"{failed.reason}",
            decide=True,
        )
