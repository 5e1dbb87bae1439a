"""The checks QA's release of a lot makes besides the lot's own (domain/lot.py,
release_rules.py): the lot found, not held, its MBR batch record reviewed, QA's audit-trail
review current — and ``blockers``, every problem the release would answer with now, which
the release package lists and a refused release names all of."""

from __future__ import annotations

from v2v_runtime.errors import DomainError, NotFound
from v2v_runtime.uow import UnitOfWork

from ..domain.lot import Lot, lot_stream
from ..domain.panel import Panel
from ..domain.release_rules import check_results
from ..domain.trail_review import (
    TrailReview,
    TrailReviewed,
    release_blocked_by_review,
    trail_review_stream,
)
from .batch_record import batch_record_blocker
from .holds import require_not_held
from .ports import TrailHeads


async def load_lot(uow: UnitOfWork, lot_id: str) -> Lot:
    lot = await uow.repository(Lot).find(lot_stream(lot_id))
    if lot is None:
        raise NotFound("lot-not-found", f"QC knows no lot {lot_id!r}")
    return lot


async def require_current_trail_review(uow: UnitOfWork, lot: Lot) -> None:
    """No release without QA's audit-trail review of batch, custody and QC, current still."""
    current = {} if lot.coi is None else await uow.port(TrailHeads).current(lot.coi)
    blocked = release_blocked_by_review(lot.lot_id, await latest_review(uow, lot.lot_id), current)
    if blocked is not None:
        raise blocked


async def latest_review(uow: UnitOfWork, lot_id: str) -> TrailReviewed | None:
    review = await uow.repository(TrailReview).find(trail_review_stream(lot_id))
    return None if review is None else review.latest


async def blockers(
    uow: UnitOfWork, lot: Lot, panel: Panel | None, qp_required: bool
) -> list[DomainError]:
    """What QA's release (final, or conditional where every missing result may be pending)
    would refuse with now: the release's own checks, each one's problem listed."""
    found: list[DomainError] = []
    if panel is None:
        found.append(DomainError("no-panel", f"lot {lot.lot_id} has no release panel"))
    else:
        pending = panel.pending_tests
        conditional = pending if not panel.spec.not_pendable(pending) else []
        try:
            check_results(lot.lot_id, panel, conditional)
        except DomainError as exc:
            found.append(exc)
        try:
            panel.check_reviewed()
        except DomainError as exc:
            found.append(exc)
    found += [e for e in (lot.deviation_blocker(), lot.qp_blocker(qp_required)) if e]
    try:
        await require_not_held(uow, lot.lot_id)
    except DomainError as exc:
        found.append(exc)
    unreviewed = await batch_record_blocker(uow, lot)
    if unreviewed is not None:
        found.append(unreviewed)
    current = {} if lot.coi is None else await uow.port(TrailHeads).current(lot.coi)
    trail = release_blocked_by_review(lot.lot_id, await latest_review(uow, lot.lot_id), current)
    if trail is not None:
        found.append(trail)
    return found
