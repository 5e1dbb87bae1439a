"""A deviation's CAPA: the plan QA approves (signed), each action done by its owner or QA,
the deviation implemented when all are done; after closure, QA's effectiveness check; and
the regulatory report of a reportable deviation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from v2v_runtime.errors import Conflict, DomainError, NotFound

from .common import QA_REVIEWER, Forbidden, Who, require_role
from .deviation_events import (
    CapaAction,
    CapaActionDone,
    CapaPlanApproved,
    DeviationImplemented,
    Effectiveness,
    EffectivenessChecked,
    PlannedAction,
    RegulatoryReportRecorded,
)
from .deviation_policy import DeviationPolicy
from .deviation_record import DeviationRecord
from .deviation_states import Act


def not_past(day: date, today: date, field: str) -> None:
    """422 naming ``field`` when ``day`` is before ``today``."""
    if day < today:
        raise DomainError(
            "due-date-in-past",
            f"{field} {day.isoformat()} is in the past (today is {today.isoformat()})",
            field=field,
        )


def check_plan(
    actions: Sequence[PlannedAction], effectiveness_due: date | None, today: date
) -> None:
    """A plan's dates: no action due in the past; its effectiveness check (if set now) not
    before the last action is due."""
    for i, action in enumerate(actions):
        not_past(action.due_date, today, f"actions[{i}].due_date")
    if effectiveness_due is not None:
        not_past(effectiveness_due, today, "effectiveness_check_due")
        last = max(a.due_date for a in actions)
        if effectiveness_due < last:
            raise DomainError(
                "effectiveness-check-before-actions",
                f"effectiveness_check_due {effectiveness_due.isoformat()} comes before the "
                f"last action is due ({last.isoformat()})",
                field="effectiveness_check_due",
            )


class CapaSteps(DeviationRecord):
    def approve_capa_plan(
        self,
        actions: Sequence[PlannedAction],
        effectiveness_due: date | None,
        by: Who,
        at: datetime,
        policy: DeviationPolicy,
    ) -> CapaPlanApproved:
        require_role(by, QA_REVIEWER, "approving a CAPA plan")
        self.expect(Act.CAPA_PLAN)
        self._check_not_author(by, "capa-approval-by-author", "approves the CAPA plan of")
        if not actions:
            raise DomainError("capa-plan-empty", "a CAPA plan has one action at least")
        check_plan(actions, effectiveness_due, policy.local_date(at))
        event = CapaPlanApproved(
            deviation_id=self.id,
            actions=[
                CapaAction(action_id=f"A{i}", **a.model_dump()) for i, a in enumerate(actions, 1)
            ],
            effectiveness_due=effectiveness_due,
            approved_at=at,
            approved_by=by,
        )
        self._record(event)
        return event

    def action(self, action_id: str) -> CapaAction:
        for action in [] if self.capa is None else self.capa.actions:
            if action.action_id == action_id:
                return action
        raise NotFound(
            "capa-action-not-found", f"deviation {self.id} has no CAPA action {action_id!r}"
        )

    def complete_action(
        self, action_id: str, evidence: str, by: Who, at: datetime
    ) -> list[CapaActionDone | DeviationImplemented]:
        """The action done (by its owner or QA); with the last one, the deviation is
        implemented."""
        self.expect(Act.CAPA_ACTION_DONE)
        action = self.action(action_id)
        if by.user_id != action.owner and by.role != QA_REVIEWER:
            raise Forbidden(
                "not-action-owner",
                f"CAPA action {action_id} of deviation {self.id} is {action.owner}'s: only they "
                "or QA mark it done",
                owner=action.owner,
            )
        if action_id in self.done:
            raise Conflict(
                "capa-action-already-done",
                f"CAPA action {action_id} of deviation {self.id} is done already",
            )
        done = CapaActionDone(
            deviation_id=self.id, action_id=action_id, evidence=evidence, done_at=at, done_by=by
        )
        self._record(done)
        recorded: list[CapaActionDone | DeviationImplemented] = [done]
        assert self.capa is not None
        if all(a.action_id in self.done for a in self.capa.actions):
            implemented = DeviationImplemented(
                deviation_id=self.id, implemented_at=at, implemented_by=by
            )
            self._record(implemented)
            recorded.append(implemented)
        return recorded

    def check_effectiveness(
        self,
        result: Effectiveness,
        narrative: str,
        by: Who,
        at: datetime,
        follow_up_deviation_id: str | None = None,
    ) -> EffectivenessChecked:
        """QA's check of the CAPA after closure; not effective names the follow-up deviation
        opened for it."""
        require_role(by, QA_REVIEWER, "checking a CAPA's effectiveness")
        self.expect(Act.EFFECTIVENESS_CHECK)
        self._check_not_author(by, "effectiveness-check-by-author", "checks the CAPA of")
        if (result is Effectiveness.NOT_EFFECTIVE) != (follow_up_deviation_id is not None):
            raise ValueError("a follow-up deviation goes with a CAPA found not effective only")
        event = EffectivenessChecked(
            deviation_id=self.id,
            result=result,
            narrative=narrative,
            checked_at=at,
            checked_by=by,
            follow_up_deviation_id=follow_up_deviation_id,
        )
        self._record(event)
        return event

    def check_report(self, submitted_on: date, today: date) -> None:
        if not self.reportable:
            raise Conflict(
                "deviation-not-reportable",
                f"deviation {self.id} is not flagged reportable (QA flags it at triage)",
            )
        if self.report is not None:
            raise Conflict(
                "report-already-recorded",
                f"the report of deviation {self.id} was recorded already ({self.report.reference})",
            )
        if submitted_on > today:
            raise DomainError(
                "submitted-in-future",
                f"submitted_on {submitted_on.isoformat()} is after today ({today.isoformat()})",
                field="submitted_on",
            )

    def record_report(
        self,
        reference: str,
        submitted_on: date,
        by: Who,
        at: datetime,
        policy: DeviationPolicy,
    ) -> RegulatoryReportRecorded:
        """QA records the submitted regulatory report (a reportable deviation, once)."""
        require_role(by, QA_REVIEWER, "recording a deviation's regulatory report")
        self.check_report(submitted_on, policy.local_date(at))
        event = RegulatoryReportRecorded(
            deviation_id=self.id,
            reference=reference,
            submitted_on=submitted_on,
            recorded_at=at,
            recorded_by=by,
        )
        self._record(event)
        return event
