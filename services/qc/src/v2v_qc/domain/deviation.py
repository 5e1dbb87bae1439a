"""Deviations: an unplanned departure (OOS result, excursion, ...) and its lifecycle.

Opened (by anyone doing GMP work, or automatically) with a proposed class; triaged by QA
(classified critical, major or minor with a rationale, flagged reportable or not; signed);
contained (what was done at once, the items concerned); investigated (a root-cause category
from the configured list, and why); then either a CAPA plan approved by QA (signed), its
actions done and the deviation implemented, or closure with a justification that no CAPA is
needed; closed by QA (signed); a CAPA's effectiveness checked by QA after closure (signed).
The order is a table (deviation_states.py). An open deviation classified — or, until QA
did, proposed — critical or major blocks the release of its lot. Who opened a deviation
neither triages it, approves its CAPA plan, closes it nor checks its CAPA's effectiveness.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from v2v_runtime.errors import Conflict, DomainError

from .common import INVESTIGATORS, QA_REVIEWER, Who, require_any_role, require_role
from .deviation_capa import CapaSteps, not_past
from .deviation_events import (
    AffectedItem,
    AffectedKind,
    DeviationContained,
    DeviationInvestigated,
)
from .deviation_policy import DeviationPolicy
from .deviation_states import Act
from .events import (
    Classification,
    DeviationBatch,
    DeviationClassified,
    DeviationClosed,
    DeviationLotAffected,
    DeviationOpened,
    DeviationState,
    Failure,
)

BLOCKING = frozenset({Classification.CRITICAL, Classification.MAJOR})
OOS_SOURCE = "OOS"
EQUIPMENT_SOURCE = "equipment"
BATCH_EXCEPTION_SOURCE = "batch-exception"
FOLLOW_UP_SOURCE = "capa-not-effective"


def oos_description(failures: Sequence[Failure]) -> str:
    listed = "; ".join(f"{f.code} {f.value} (limit {f.limit})" for f in failures)
    return f"Out of specification: {listed}"


class Deviation(CapaSteps):
    @classmethod
    def open(
        cls,
        deviation_id: str,
        *,
        coi: str,
        lot_id: str,
        classification: Classification,
        source: str,
        description: str,
        by: Who,
        at: datetime,
        panel_id: str | None = None,
    ) -> Deviation:
        dev = cls(deviation_id)
        dev._record(
            DeviationOpened(
                deviation_id=deviation_id,
                coi=coi,
                lot_id=lot_id,
                panel_id=panel_id,
                classification=classification,
                source=source,
                description=description,
                opened_at=at,
                opened_by=by,
            )
        )
        return dev

    @classmethod
    def open_for_oos(
        cls,
        deviation_id: str,
        *,
        coi: str,
        lot_id: str,
        panel_id: str,
        failures: Sequence[Failure],
        by: Who,
        at: datetime,
        classification: Classification = Classification.MAJOR,
    ) -> Deviation:
        """An out-of-specification result opens a deviation, major unless triaged higher."""
        return cls.open(
            deviation_id,
            coi=coi,
            lot_id=lot_id,
            panel_id=panel_id,
            classification=classification,
            source=OOS_SOURCE,
            description=oos_description(failures),
            by=by,
            at=at,
        )

    @classmethod
    def open_on_batches(
        cls,
        deviation_id: str,
        *,
        source: str,
        classification: Classification,
        description: str,
        site: str,
        equipment_id: str | None,
        batches: Sequence[DeviationBatch],
        by: Who,
        at: datetime,
    ) -> Deviation:
        """A deviation on batches, not one lot: the lots they made are linked as QC learns
        of them (``affect_lot``), and wait for it."""
        dev = cls(deviation_id)
        dev._record(
            DeviationOpened(
                deviation_id=deviation_id,
                coi=None,
                lot_id=None,
                classification=classification,
                source=source,
                description=description,
                opened_at=at,
                opened_by=by,
                site=site,
                equipment_id=equipment_id,
                batches=list(batches),
            )
        )
        return dev

    def affect_lot(self, batch_id: str, lot_id: str, coi: str) -> bool:
        """Link the lot of a batch this deviation names (False: linked already, or a batch
        it does not name)."""
        named = {b.batch_id: b.coi for b in self.info.batches}
        if named.get(batch_id) != coi or lot_id in self.affected_lots:
            return False
        self._record(
            DeviationLotAffected(deviation_id=self.id, batch_id=batch_id, lot_id=lot_id, coi=coi)
        )
        return True

    def follow_up(self, deviation_id: str, narrative: str, by: Who, at: datetime) -> Deviation:
        """The deviation opened when this one's CAPA was found not effective: on the same lot
        or batches, proposed the same class (its lots are linked by the application)."""
        info = self.info
        description = f"The CAPA of deviation {self.id} was found not effective: {narrative}"
        if info.lot_id is not None and info.coi is not None:
            return Deviation.open(
                deviation_id,
                coi=info.coi,
                lot_id=info.lot_id,
                panel_id=info.panel_id,
                classification=self.classification,
                source=FOLLOW_UP_SOURCE,
                description=description,
                by=by,
                at=at,
            )
        return Deviation.open_on_batches(
            deviation_id,
            source=FOLLOW_UP_SOURCE,
            classification=self.classification,
            description=description,
            site=info.site or "",
            equipment_id=info.equipment_id,
            batches=info.batches,
            by=by,
            at=at,
        )

    # -- triage ----------------------------------------------------------------------------

    def check_classification(
        self, classification: Classification, reportable: bool | None, reason: str | None
    ) -> None:
        """The state allows it, a reportable flag has its reason, and something changes."""
        self.expect(Act.CLASSIFICATION)
        if reportable and not (reason or "").strip():
            raise DomainError(
                "reportable-reason-required",
                "a deviation flagged reportable says why (reportable_reason)",
                field="reportable_reason",
            )
        flag = self.reportable if reportable is None else reportable
        if (
            self.classified is not None
            and self.classification is classification
            and flag == self.reportable
        ):
            raise Conflict(
                "deviation-already-classified",
                f"deviation {self.id} is already classified {classification.value}",
            )

    def classify(
        self,
        classification: Classification,
        rationale: str,
        by: Who,
        at: datetime,
        policy: DeviationPolicy,
        *,
        reportable: bool | None = None,
        reportable_reason: str | None = None,
    ) -> DeviationClassified:
        """QA triages the deviation (confirming or changing the proposed class, flagging it
        reportable or not: None keeps the flag), or classifies it again while it is open.
        The closure target follows the class; a reportable one's report is due from its
        discovery (the opening)."""
        require_role(by, QA_REVIEWER, "classifying a deviation")
        self.expect(Act.CLASSIFICATION)
        self._check_not_author(by, "classification-by-author", "classifies")
        self.check_classification(classification, reportable, reportable_reason)
        flag = self.reportable if reportable is None else reportable
        opened_at = self.info.opened_at
        event = DeviationClassified(
            deviation_id=self.id,
            classification=classification,
            previous=self.classification,
            reason=rationale,
            classified_at=at,
            classified_by=by,
            previous_state=self.state if self.state is DeviationState.OPENED else None,
            reportable=flag,
            previous_reportable=None if self.classified is None else self.reportable,
            reportable_reason=(
                reportable_reason
                if reportable is not None or self.classified is None
                else self.classified.reportable_reason
            ),
            closure_due=policy.closure_due(opened_at, classification),
            report_due=policy.report_due(opened_at) if flag else None,
        )
        self._record(event)
        return event

    # -- containment and investigation -------------------------------------------------------

    def contain(
        self, actions: str, affected: Sequence[AffectedItem], by: Who, at: datetime
    ) -> DeviationContained:
        """The containment: what was done, and the items concerned (the deviation's own lots
        among them). Placing holds on them is the holds' part (application port)."""
        require_any_role(by, INVESTIGATORS, "recording a deviation's containment")
        self.expect(Act.CONTAINMENT)
        items = list(dict.fromkeys(affected))
        for lot_id in self.lots:
            own = AffectedItem(kind=AffectedKind.LOT, id=lot_id)
            if own not in items:
                items.append(own)
        event = DeviationContained(
            deviation_id=self.id, actions=actions, affected=items, contained_at=at, contained_by=by
        )
        self._record(event)
        return event

    def investigate(
        self,
        root_cause_category: str,
        narrative: str,
        by: Who,
        at: datetime,
        policy: DeviationPolicy,
    ) -> DeviationInvestigated:
        require_any_role(by, INVESTIGATORS, "recording a deviation's investigation")
        self.expect(Act.INVESTIGATION)
        if root_cause_category not in policy.root_cause_categories:
            raise DomainError(
                "unknown-root-cause-category",
                f"{root_cause_category!r} is not a configured root-cause category",
                field="root_cause_category",
                allowed=list(policy.root_cause_categories),
            )
        event = DeviationInvestigated(
            deviation_id=self.id,
            root_cause_category=root_cause_category,
            narrative=narrative,
            investigated_at=at,
            investigated_by=by,
        )
        self._record(event)
        return event

    # -- closure -----------------------------------------------------------------------------

    def check_closure(
        self, no_capa_justification: str | None, effectiveness_due: date | None, today: date
    ) -> date | None:
        """The closure's inputs; the effectiveness check's due date it leaves (None: no CAPA,
        nothing to check)."""
        self.expect(Act.CLOSE)
        if self.capa is None:
            if not (no_capa_justification or "").strip():
                raise DomainError(
                    "no-capa-justification-required",
                    f"deviation {self.id} has no CAPA plan: closing it says why none is needed "
                    "(no_capa_justification), or a CAPA plan is approved first",
                    field="no_capa_justification",
                )
            if effectiveness_due is not None:
                raise DomainError(
                    "no-capa-to-check",
                    "a deviation closed without CAPA has no effectiveness check",
                    field="effectiveness_check_due",
                )
            return None
        if no_capa_justification is not None:
            raise DomainError(
                "capa-plan-exists",
                f"deviation {self.id} has an approved CAPA plan: no justification for none",
                field="no_capa_justification",
            )
        due = effectiveness_due or self.capa.effectiveness_due
        if due is None:
            raise DomainError(
                "effectiveness-check-due-required",
                "the CAPA plan set no effectiveness check date: closing sets it",
                field="effectiveness_check_due",
            )
        not_past(due, today, "effectiveness_check_due")
        return due

    def close(
        self,
        reason: str,
        by: Who,
        at: datetime,
        policy: DeviationPolicy,
        *,
        no_capa_justification: str | None = None,
        effectiveness_due: date | None = None,
    ) -> DeviationClosed:
        """QA closes the deviation: after its CAPA is implemented, or after the
        investigation with a justification that no CAPA is needed."""
        require_role(by, QA_REVIEWER, "closing a deviation")
        self.expect(Act.CLOSE)
        self._check_not_author(by, "closure-by-author", "closes")
        due = self.check_closure(no_capa_justification, effectiveness_due, policy.local_date(at))
        event = DeviationClosed(
            deviation_id=self.id,
            reason=reason,
            closed_at=at,
            closed_by=by,
            previous_state=self.state,
            no_capa_justification=no_capa_justification,
            effectiveness_due=due,
        )
        self._record(event)
        return event
