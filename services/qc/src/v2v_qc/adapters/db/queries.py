"""Read-side queries over the read models."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.signatures.model import Meaning, SignatureView
from v2v_runtime.signatures.store import signatures_of

from ...application.views import (
    DecisionView,
    PanelView,
    ResultEntryView,
    ResultView,
    ReviewStatus,
    ReviewView,
    TestView,
)
from ...domain.events import Certificate
from ...domain.lot import lot_stream
from .tables import (
    certificates,
    lots,
    panel_reviews,
    panels,
    results,
)

DECISION_MEANINGS = (Meaning.RELEASED, Meaning.REJECTED)


async def panel_views(
    session: AsyncSession,
    *,
    coi: str | None = None,
    lot_id: str | None = None,
    time_zone: str = "UTC",
) -> list[PanelView]:
    query = select(panels).order_by(panels.c.ordered_at, panels.c.panel_id)
    if coi is not None:
        query = query.where(panels.c.coi == coi)
    if lot_id is not None:
        query = query.where(panels.c.lot_id == lot_id)
    rows = (await session.execute(query)).all()
    return await _views(session, rows, time_zone)


async def panel_view(
    session: AsyncSession, panel_id: str, time_zone: str = "UTC"
) -> PanelView | None:
    rows = (await session.execute(select(panels).where(panels.c.panel_id == panel_id))).all()
    views = await _views(session, rows, time_zone)
    return views[0] if views else None


async def _views(session: AsyncSession, rows: Sequence[Any], time_zone: str) -> list[PanelView]:
    if not rows:
        return []
    ids = [r.panel_id for r in rows]
    entries: dict[tuple[str, str], list[ResultEntryView]] = defaultdict(list)
    found = await session.execute(
        select(results)
        .where(results.c.panel_id.in_(ids))
        .order_by(results.c.panel_id, results.c.test_code, results.c.revision)
    )
    for r in found:
        entries[(r.panel_id, r.test_code)].append(
            ResultEntryView(
                revision=r.revision,
                value=r.value,
                unit=r.unit,
                within_limit=r.within_limit,
                recorded_by=r.recorded_by,
                recorded_at=r.recorded_at,
                correction_reason=r.correction_reason,
                reason_code=r.reason_code,
                calculation=r.calculation,
            )
        )
    decided = {
        r.lot_id: r
        for r in await session.execute(
            select(lots).where(lots.c.lot_id.in_([r.lot_id for r in rows]))
        )
    }
    reviews: dict[str, list[Any]] = defaultdict(list)
    for r in await session.execute(
        select(panel_reviews)
        .where(panel_reviews.c.panel_id.in_(ids))
        .order_by(panel_reviews.c.panel_id, panel_reviews.c.version)
    ):
        reviews[r.panel_id].append(r)
    lot_streams = {r.lot_id: lot_stream(r.lot_id) for r in rows}
    signed = await signatures_of(session, [*ids, *lot_streams.values()], time_zone)
    views = []
    for row in rows:
        revisions = {
            code: history[-1].revision
            for (panel_id, code), history in entries.items()
            if panel_id == row.panel_id
        }
        shown_reviews = [_review(r, revisions) for r in reviews[row.panel_id]]
        tests = []
        for t in row.tests:
            history = entries.get((row.panel_id, t["code"]), [])
            result = None
            if history:
                latest = history[-1]
                result = ResultView(
                    **latest.model_dump(), corrected=len(history) > 1, history=history[:-1]
                )
            tests.append(
                TestView(
                    code=t["code"],
                    name=t["name"],
                    method=t["method"],
                    kind=t["kind"],
                    unit=t.get("unit"),
                    limit=t["limit"],
                    result=result,
                )
            )
        lot = decided.get(row.lot_id)
        decision = None
        if lot is not None and lot.decision is not None:
            decision = DecisionView(
                decision=lot.decision,
                meaning=lot.meaning,
                reason=lot.reason,
                decided_at=lot.decided_at,
                decided_by=lot.decided_by,
                certificate_id=lot.certificate_id,
                signature=_decision_signature(signed.get(lot_streams[row.lot_id], [])),
            )
        views.append(
            PanelView(
                panel_id=row.panel_id,
                coi=row.coi,
                lot_id=row.lot_id,
                product_code=row.product_code,
                spec_id=row.spec_id,
                spec_version=row.spec_version,
                attempt=row.attempt,
                patient_weight_kg=row.patient_weight_kg,
                status=row.status,
                ordered_at=row.ordered_at,
                ordered_by=row.ordered_by,
                evaluated_at=row.evaluated_at,
                tests=tests,
                pending=[t.code for t in tests if t.result is None],
                failures=row.failures,
                deviation_id=row.deviation_id,
                decision=decision,
                review_status=_review_status(shown_reviews),
                reviews=shown_reviews,
                signatures=signed.get(row.panel_id, []),
            )
        )
    return views


def _review(r: Any, revisions: dict[str, int]) -> ReviewView:
    seen: dict[str, int] = r.results
    changed = sorted(code for code, rev in revisions.items() if seen.get(code) != rev)
    return ReviewView(
        reviewed_at=r.reviewed_at,
        reviewed_by=r.reviewed_by,
        comment=r.comment,
        outcome=r.outcome,
        results=seen,
        current=not changed,
        changed_since=changed,
    )


def _review_status(reviews: list[ReviewView]) -> ReviewStatus:
    if not reviews:
        return ReviewStatus.NONE
    return ReviewStatus.CURRENT if reviews[-1].current else ReviewStatus.STALE


def _decision_signature(found: list[SignatureView]) -> SignatureView | None:
    """The QA decision's signature among the lot's (the last released/rejected one)."""
    decisions = [s for s in found if s.meaning in DECISION_MEANINGS]
    return decisions[-1] if decisions else None


async def certificate(session: AsyncSession, certificate_id: str) -> Certificate | None:
    row = (
        await session.execute(
            select(certificates.c.body).where(certificates.c.certificate_id == certificate_id)
        )
    ).first()
    return None if row is None else Certificate.model_validate(row.body)


async def lot_site(session: AsyncSession, lot_id: str) -> tuple[bool, str | None]:
    """(whether QC knows the lot, its manufacturing site if recorded)."""
    row = (
        await session.execute(select(lots.c.manufacturing_site).where(lots.c.lot_id == lot_id))
    ).first()
    return (row is not None, None if row is None else row.manufacturing_site)
