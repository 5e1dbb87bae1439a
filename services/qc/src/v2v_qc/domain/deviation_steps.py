"""A deviation's containment and investigation (an investigator records them) and its
closure by QA: after its CAPA is implemented, or after the investigation with a
justification that no CAPA is needed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from v2v_runtime.errors import DomainError

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
from .events import DeviationClosed


class DeviationSteps(CapaSteps):
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
