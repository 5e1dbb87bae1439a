"""The QC review of a panel's results — a second person's check, signed "reviewed", which QA's
release needs (current): when it may be done — once evaluated, or with only the tests the
specification allows to be pending at release outstanding (before a conditional release) —
and whether it still covers the results (a correction or a late result since makes it stale).
Pure; the panel records the event (``Panel.review``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from v2v_runtime.errors import Conflict

from .common import QC_REVIEWER, Forbidden, Who, require_role
from .events import PanelReviewed, PanelStatus

if TYPE_CHECKING:
    from .panel import Panel


def changed_since(reviews: Sequence[PanelReviewed], revisions: Mapping[str, int]) -> list[str]:
    """Test codes whose result changed since the last review (every one, without a review)."""
    seen = reviews[-1].results if reviews else {}
    return sorted(code for code, revision in revisions.items() if seen.get(code) != revision)


def review_of(panel: Panel, by: Who, at: datetime, comment: str | None) -> PanelReviewed:
    """The review of ``panel``'s results as they stand, if ``by`` may review them now."""
    require_role(by, QC_REVIEWER, "reviewing QC results")
    missing = panel.pending_tests
    partial = bool(missing and panel.results) and not panel.spec.not_pendable(missing)
    if panel.evaluation is None and not partial:
        # Before a conditional release the results in hand are reviewed, the tests the
        # specification allows to be pending still outstanding; otherwise all of them.
        raise Conflict(
            "panel-not-evaluated",
            f"panel {panel.id} is not evaluated yet: its results cannot be reviewed until "
            "every result is in but those its specification allows to be pending at release",
            pending=missing,
            not_pendable=panel.spec.not_pendable(missing),
        )
    if by.user_id in panel.result_authors:
        # Segregation of duties: a second person reviews the analysts' work.
        raise Forbidden(
            "review-by-analyst",
            f"{by.user_id} entered results of panel {panel.id}: another person reviews them",
        )
    if panel.reviewed_current:
        raise Conflict(
            "panel-already-reviewed",
            f"the results of panel {panel.id} are reviewed and unchanged since",
        )
    return PanelReviewed(
        panel_id=panel.id,
        results=panel.revisions,
        outcome=PanelStatus.ORDERED if panel.evaluation is None else panel.evaluation.outcome,
        comment=(comment or "").strip() or None,
        reviewed_at=at,
        reviewed_by=by,
    )


def require_current_review(panel: Panel) -> None:
    """409 unless a QC review covers ``panel``'s results as they stand."""
    if not panel.reviews:
        raise Conflict(
            "results-not-reviewed", f"the results of panel {panel.id} have not been reviewed by QC"
        )
    changed = panel.changed_since_review
    if changed:
        raise Conflict(
            "results-review-stale",
            f"results of panel {panel.id} changed since their QC review: {', '.join(changed)}; "
            "a new review is needed",
            changed=changed,
        )
