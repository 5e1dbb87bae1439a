"""Release and delivery of a produced lot: QC results, QA's decision, receipt at the
treatment center, infusion. Manufacturing may withdraw the lot (``LotRejected``) at any
moment after producing it, even after QA released it: the journey reacts at once."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from v2v_events.contracts.batch import LotProduced, LotRejected
    from v2v_events.contracts.custody import InfusionRecorded, LocationKind, UnitReceived
    from v2v_events.contracts.journey import NotificationReason
    from v2v_events.contracts.qc import (
        LotReleased,
        LotReleaseRejected,
        PanelEvaluated,
        PanelOutcome,
    )

    from .mailbox import Expect
    from .model import Stage

from .mechanics import JourneyMechanics


@dataclass
class Failure:
    """Why a lot did not reach the patient; ``decide``: people choose how to go on."""

    reason: NotificationReason
    detail: str
    decide: bool = False
    deadline: str | None = None  # the deadline that passed, if one did


class ReleaseAndDelivery(JourneyMechanics):
    async def _release_and_deliver(self, lot: LotProduced) -> Failure | None:
        p = self.inp.policy
        # Manufacturing may reject the lot at any moment after producing it: react at once.
        withdrawn = Expect(LotRejected, lambda m: m.lot_id == lot.lot_id)
        evaluated = await self._wait_any(
            "qc-results",
            p.qc_due,
            Expect(PanelEvaluated, lambda m: m.lot_id == lot.lot_id),
            withdrawn,
        )
        if isinstance(evaluated, LotRejected):
            return self._withdrawn(evaluated)
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
                NotificationReason.QC_FAILED, f"lot {lot.lot_id} out of specification: {failed}"
            )
        self._note(Stage.QA_RELEASE, f"lot {lot.lot_id} in specification")
        decision = await self._wait_any(
            "qa-release",
            p.release_due,
            Expect(LotReleased, lambda m: m.lot_id == lot.lot_id),
            Expect(LotReleaseRejected, lambda m: m.lot_id == lot.lot_id),
            withdrawn,
        )
        if decision is None:
            return Failure(
                NotificationReason.DEADLINE_MISSED,
                f"QA decision on lot {lot.lot_id} overdue",
                deadline="qa-release",
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
        return await self._deliver(lot, withdrawn)

    async def _deliver(self, lot: LotProduced, withdrawn: Expect[LotRejected]) -> Failure | None:
        p = self.inp.policy
        bags = set(lot.bag_ids)
        delivered = await self._wait_any(
            "delivery",
            p.delivery_due,
            Expect(
                UnitReceived,
                lambda m: m.unit_id in bags and m.location_kind == LocationKind.TREATMENT_CENTER,
            ),
            withdrawn,
        )
        if isinstance(delivered, LotRejected):
            return self._withdrawn(delivered)
        if delivered is None:
            return Failure(
                NotificationReason.DEADLINE_MISSED,
                f"lot {lot.lot_id} not received in time",
                deadline="delivery",
            )
        self._note(Stage.INFUSION, f"received at {self.inp.treatment_center}")
        until = min(workflow.now() + p.infusion_due, lot.expires_at)
        infused = await self._wait_any(
            "infusion",
            until - workflow.now(),
            Expect(InfusionRecorded, lambda m: bool(bags & set(m.unit_ids))),
            withdrawn,
        )
        if isinstance(infused, LotRejected):
            return self._withdrawn(infused)
        if infused is None:
            return Failure(
                NotificationReason.DEADLINE_MISSED,
                f"no infusion of lot {lot.lot_id} before the deadline",
                deadline="infusion",
            )
        return None

    def _withdrawn(self, rejected: LotRejected) -> Failure:
        self._deviation = rejected.deviation_id or self._deviation
        return Failure(
            NotificationReason.QC_FAILED,
            f"lot {rejected.lot_id} rejected by {rejected.actor.user_id}: {rejected.reason}",
            decide=True,
        )
