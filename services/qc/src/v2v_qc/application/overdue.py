"""The overdue view: what is late on each deviation, why and by how much — its closure
target passed while open, its regulatory report due without the report recorded, a CAPA
action not done by its due date, its CAPA's effectiveness check past due."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from ..domain.deviation_policy import DeviationPolicy
from ..domain.deviation_states import CLOSED_STATES
from ..domain.events import DeviationState
from ..domain.working_days import working_days_between
from .deviation_views import DeviationView, OverdueItem, OverdueReason, OverdueView


def overdue(views: Iterable[DeviationView], today: date, policy: DeviationPolicy) -> OverdueView:
    items = [item for v in views for item in _late(v, today, policy)]
    items.sort(key=lambda i: (-i.days_overdue, i.deviation_id, i.reason.value, i.action_id or ""))
    return OverdueView(as_of=today, items=items)


def _late(v: DeviationView, today: date, policy: DeviationPolicy) -> Iterator[OverdueItem]:
    def item(reason: OverdueReason, due: date, detail: str, **extra: str) -> OverdueItem:
        return OverdueItem(
            deviation_id=v.deviation_id,
            reason=reason,
            detail=detail,
            due=due,
            days_overdue=(today - due).days,
            working_days_overdue=working_days_between(due, today, policy.holidays),
            classification=v.classification,
            state=v.state,
            coi=v.coi,
            lot_id=v.lot_id,
            site=v.site,
            **extra,
        )

    if v.state not in CLOSED_STATES and v.closure_due is not None and today > v.closure_due:
        days = policy.closure_working_days[v.classification]
        yield item(
            OverdueReason.CLOSURE_TARGET,
            v.closure_due,
            f"{v.classification.value} deviation still {v.state.value}: its closure target "
            f"was {days} working days from opening",
        )
    if v.reportable and v.report is None and v.report_due is not None and today > v.report_due:
        yield item(
            OverdueReason.REPORT,
            v.report_due,
            f"reportable: its report was due {policy.report_calendar_days} calendar days "
            "from discovery and is not recorded",
        )
    if v.state is DeviationState.CAPA_APPROVED and v.capa is not None:
        for a in v.capa.actions:
            if not a.done and today > a.due_date:
                yield item(
                    OverdueReason.CAPA_ACTION,
                    a.due_date,
                    f"CAPA action {a.action_id} ({a.kind.value}) not done: {a.description}",
                    action_id=a.action_id,
                    owner=a.owner,
                )
    due = v.effectiveness_check_due
    checking = v.state is DeviationState.CLOSED and v.capa is not None
    if checking and due is not None and today > due:
        yield item(
            OverdueReason.EFFECTIVENESS_CHECK,
            due,
            "closed: its CAPA's effectiveness check is not recorded",
        )
