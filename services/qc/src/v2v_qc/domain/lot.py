"""QC's view of a lot: its total viable cells (from manufacturing), its release panel, the
deviations against it, and the QA release decision with the certificate of analysis.

The release rule lives here so that everything it depends on (the panel, the open
deviations, an earlier decision) is checked against one stream under optimistic
concurrency: a deviation opened while QA signs makes one of the two fail and retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from v2v_events.contracts.qc import RecoveryDecision
from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict

from .common import QA_REVIEWER, RECOVERY_DECIDERS, Forbidden, Who, require_any_role, require_role
from .deviation import BLOCKING
from .events import (
    Certificate,
    Classification,
    Decision,
    DeviationLinked,
    DeviationResolved,
    LotDeviationClassified,
    LotRegistered,
    LotRejected,
    LotReleased,
    LotWithdrawn,
    PanelAssigned,
    RecoveryChosen,
)
from .lot_release import LotReleaseState
from .panel import Panel
from .release_events import RELEASE_EVENTS
from .release_rules import certificate, check_results


def lot_stream(lot_id: str) -> str:
    """Stream id of a lot in QC's event store."""
    return f"qc-lot:{lot_id}"


class Lot(LotReleaseState, Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.lot_id = ""
        self.coi: str | None = None
        self.registered: LotRegistered | None = None
        self.panel_id: str | None = None
        self.deviations: dict[str, tuple[Classification, bool]] = {}  # id -> (class, open)
        self.released: LotReleased | None = None
        self.rejected: LotRejected | None = None
        self.withdrawn: LotWithdrawn | None = None
        self.recoveries: list[RecoveryChosen] = []
        self.init_release_state()

    @classmethod
    def named(cls, lot_id: str) -> Lot:
        lot = cls(lot_stream(lot_id))
        lot.lot_id = lot_id
        return lot

    # -- commands --

    def register(
        self,
        *,
        coi: str,
        batch_id: str,
        total_viable_cells: float,
        viability_pct: float,
        attempt: int,
        produced_at: datetime,
        manufacturing_site: str | None = None,
        bag_ids: Sequence[str] = (),
    ) -> LotRegistered | None:
        """Manufacturing produced the lot; a repeat is answered with the state as it is."""
        self.check_patient(coi)
        if self.registered is not None:
            return None
        event = LotRegistered(
            lot_id=self.lot_id,
            coi=coi,
            batch_id=batch_id,
            total_viable_cells=total_viable_cells,
            viability_pct=viability_pct,
            attempt=attempt,
            produced_at=produced_at,
            manufacturing_site=manufacturing_site,
            bag_ids=list(bag_ids),
        )
        self._record(event)
        return event

    def assign_panel(self, coi: str, panel_id: str) -> None:
        self.check_patient(coi)
        if self.panel_id is not None:
            raise Conflict("panel-exists", f"lot {self.lot_id} already has panel {self.panel_id}")
        self._record(PanelAssigned(lot_id=self.lot_id, coi=coi, panel_id=panel_id))

    def link_deviation(self, coi: str, deviation_id: str, classification: Classification) -> None:
        self.check_patient(coi)
        self._record(
            DeviationLinked(
                lot_id=self.lot_id,
                coi=coi,
                deviation_id=deviation_id,
                classification=classification,
            )
        )

    def classify_deviation(self, deviation_id: str, classification: Classification) -> None:
        """QA classified one of the lot's deviations: whether it blocks release follows."""
        known = self.deviations.get(deviation_id)
        if known is not None and known[0] is not classification:
            self._record(
                LotDeviationClassified(
                    lot_id=self.lot_id, deviation_id=deviation_id, classification=classification
                )
            )

    def resolve_deviation(self, deviation_id: str) -> None:
        if self.deviations.get(deviation_id, (None, False))[1]:
            self._record(DeviationResolved(lot_id=self.lot_id, deviation_id=deviation_id))

    def release(
        self,
        panel: Panel,
        certificate_id: str,
        reason: str,
        by: Who,
        at: datetime,
        *,
        pending: Sequence[str] = (),
        qp_required: bool = False,
    ) -> Certificate:
        """QA releases the lot: in specification and no open critical/major deviation;
        conditionally with ``pending`` tests the specification allows outstanding
        (release_rules.py); certified by the qualified person first where the site asks."""
        require_role(by, QA_REVIEWER, "releasing a lot")
        if panel.id != self.panel_for_decision():
            raise ValueError(f"panel {panel.id} is not the panel of lot {self.lot_id}")
        check_results(self.lot_id, panel, list(dict.fromkeys(pending)))
        if by.user_id in panel.result_authors:
            # Segregation of duties: who entered a result does not release on it.
            raise Forbidden(
                "release-by-result-author",
                f"{by.user_id} entered results of panel {panel.id}: another QA reviewer "
                "must release lot " + self.lot_id,
            )
        for blocked in (self.deviation_blocker(), self.qp_blocker(qp_required)):
            if blocked is not None:
                raise blocked
        panel.check_reviewed()  # a second person, the QC reviewer, checked the results
        cert = certificate(
            certificate_id=certificate_id,
            lot_id=self.lot_id,
            batch_id=None if self.registered is None else self.registered.batch_id,
            panel=panel,
            deviations=self.deviations,
            pending=list(dict.fromkeys(pending)),
            certification=self.certification,
            reason=reason,
            by=by,
            at=at,
        )
        self._record(LotReleased(lot_id=self.lot_id, certificate=cert))
        return cert

    def reject(self, reason: str, by: Who, at: datetime) -> LotRejected:
        """QA rejects the lot (possible at any time before a decision)."""
        require_role(by, QA_REVIEWER, "rejecting a lot")
        panel_id = self.panel_for_decision()
        assert self.coi is not None
        event = LotRejected(
            lot_id=self.lot_id,
            coi=self.coi,
            panel_id=panel_id,
            reason=reason,
            decided_at=at,
            decided_by=by,
        )
        self._record(event)
        return event

    def withdraw(self, reason: str, at: datetime) -> None:
        """Manufacturing rejected the lot; a repeat changes nothing."""
        if self.withdrawn is None:
            self._record(LotWithdrawn(lot_id=self.lot_id, reason=reason, withdrawn_at=at))

    def decide_recovery(
        self,
        decision: RecoveryDecision,
        reason: str,
        by: Who,
        at: datetime,
        *,
        out_of_specification: bool = False,
    ) -> RecoveryChosen:
        """QA or the qualified person decides how the journey goes on after the lot failed
        (out of specification, rejected by QA, or withdrawn by manufacturing). Several
        decisions may follow one another (e.g. re-manufacture refused for want of material).
        Exceptional release is for an out-of-specification lot only."""
        require_any_role(by, RECOVERY_DECIDERS, "a recovery decision")
        self.check_recovery(decision, out_of_specification)
        assert self.coi is not None
        event = RecoveryChosen(
            lot_id=self.lot_id,
            coi=self.coi,
            decision=decision,
            reason=reason,
            decided_at=at,
            decided_by=by,
        )
        self._record(event)
        return event

    def check_recovery(self, decision: RecoveryDecision, out_of_specification: bool) -> None:
        """Refuses a recovery decision the lot's state does not allow (before signing)."""
        if self.rejected is None and self.withdrawn is None and not out_of_specification:
            raise Conflict(
                "lot-not-failed",
                f"lot {self.lot_id} neither failed its specification nor was rejected: "
                "there is nothing to recover from",
            )
        if decision is RecoveryDecision.EXCEPTIONAL_RELEASE:
            if not out_of_specification:
                raise Conflict(
                    "lot-not-out-of-specification",
                    f"lot {self.lot_id} is not out of specification: exceptional release is "
                    "only for a lot that failed its specification",
                )
            if self.withdrawn is not None:
                raise Conflict(
                    "lot-withdrawn",
                    f"manufacturing rejected lot {self.lot_id}: {self.withdrawn.reason}",
                )

    @property
    def latest_recovery(self) -> RecoveryDecision | None:
        return self.recoveries[-1].decision if self.recoveries else None

    def panel_for_decision(self) -> str:
        """The panel a decision is about; refuses a decided lot or a lot without a panel."""
        self._undecided()
        if self.panel_id is None:
            raise Conflict("no-panel", f"lot {self.lot_id} has no release panel")
        return self.panel_id

    # -- state --

    @property
    def total_viable_cells(self) -> float | None:
        return None if self.registered is None else self.registered.total_viable_cells

    def deviation_blocker(self) -> Conflict | None:
        """409 ``open-deviation`` while a critical or major deviation is open."""
        blocking = self.blocking_deviations
        if not blocking:
            return None
        return Conflict(
            "open-deviation",
            f"lot {self.lot_id} has open critical/major deviations: {', '.join(blocking)}",
            deviation_ids=blocking,
        )

    @property
    def blocking_deviations(self) -> list[str]:
        return [d for d, (c, is_open) in self.deviations.items() if is_open and c in BLOCKING]

    @property
    def decision(self) -> Decision | None:
        if self.released is not None:
            return Decision.RELEASE
        return None if self.rejected is None else Decision.REJECT

    @property
    def manufacturing_site(self) -> str | None:
        return None if self.registered is None else self.registered.manufacturing_site

    def apply(self, event: DomainEvent) -> None:
        match event:
            case LotRegistered():
                self.lot_id, self.coi, self.registered = event.lot_id, event.coi, event
            case PanelAssigned():
                self.lot_id, self.coi, self.panel_id = event.lot_id, event.coi, event.panel_id
            case DeviationLinked():
                self.lot_id, self.coi = event.lot_id, event.coi
                self.deviations[event.deviation_id] = (event.classification, True)
            case LotDeviationClassified():
                _, is_open = self.deviations[event.deviation_id]
                self.deviations[event.deviation_id] = (event.classification, is_open)
            case DeviationResolved():
                cls, _ = self.deviations[event.deviation_id]
                self.deviations[event.deviation_id] = (cls, False)
            case LotReleased():
                self.released = event
            case LotRejected():
                self.rejected = event
            case LotWithdrawn():
                self.withdrawn = event
            case RecoveryChosen():
                self.recoveries.append(event)
            case _ if isinstance(event, RELEASE_EVENTS):
                self.apply_release(event)
            case _:
                raise TypeError(f"lot cannot apply {type(event).__name__}")

    # -- helpers --

    def check_patient(self, coi: str) -> None:
        if self.coi is not None and self.coi != coi:
            raise Conflict(
                "lot-coi-mismatch",
                f"lot {self.lot_id} belongs to another chain of identity",
            )

    def _undecided(self) -> None:
        if self.decision is not None:
            raise Conflict(
                "lot-already-decided",
                f"lot {self.lot_id} was already decided: {self.decision.value}",
                decision=self.decision.value,
            )
