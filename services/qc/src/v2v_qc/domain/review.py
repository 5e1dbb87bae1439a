"""The QC review of a panel's results — a second person's check, signed "reviewed": when it
may be done, and whether it still covers the results (a correction since makes it stale).
Pure; the panel records the event (``Panel.review``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from v2v_runtime.errors import Conflict

from .common import QC_REVIEWER, Forbidden, Who, require_role
from .events import PanelReviewed

if TYPE_CHECKING:
    from .panel import Panel


def changed_since(reviews: Sequence[PanelReviewed], revisions: Mapping[str, int]) -> list[str]:
    """Test codes whose result changed since the last review (every one, without a review)."""
    seen = reviews[-1].results if reviews else {}
    return sorted(code for code, revision in revisions.items() if seen.get(code) != revision)


def review_of(panel: Panel, by: Who, at: datetime, comment: str | None) -> PanelReviewed:
    """The review of ``panel``'s results as they stand, if ``by`` may review them now."""
    require_role(by, QC_REVIEWER, "reviewing QC results")
    if panel.evaluation is None:
        raise Conflict(
            "panel-not-evaluated",
            f"panel {panel.id} is not evaluated yet: its results cannot be reviewed",
            pending=panel.pending_tests,
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
        outcome=panel.evaluation.outcome,
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
