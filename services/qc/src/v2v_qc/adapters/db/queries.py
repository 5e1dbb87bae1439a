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
    DeviationBatchView,
    DeviationView,
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
    deviation_batches,
    deviation_units,
    deviations,
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


def _deviation(
    r: Any, batches: list[DeviationBatchView], units: list[str], signatures: list[SignatureView]
) -> DeviationView:
    return DeviationView(
        deviation_id=r.deviation_id,
        coi=r.coi,
        lot_id=r.lot_id,
        panel_id=r.panel_id,
        classification=r.classification,
        proposed_classification=r.proposed_classification or r.classification,
        classified=r.classified_at is not None,
        classified_at=r.classified_at,
        classified_by=r.classified_by,
        classification_rationale=r.classification_rationale,
        source=r.source,
        description=r.description,
        state=r.state,
        opened_at=r.opened_at,
        opened_by=r.opened_by,
        closed_at=r.closed_at,
        closed_by=r.closed_by,
        closure_reason=r.closure_reason,
        signatures=signatures,
        site=r.site,
        equipment_id=r.equipment_id,
        batches=batches,
        unit_ids=units,
        shipment_id=r.shipment_id,
        material_lot_id=r.material_lot_id,
    )


async def _deviation_views(
    session: AsyncSession, rows: list[Any], time_zone: str
) -> list[DeviationView]:
    """The rows as views, with the batches and units each names and QA's signatures on
    each."""
    named: dict[str, list[DeviationBatchView]] = defaultdict(list)
    units: dict[str, list[str]] = defaultdict(list)
    ids = [r.deviation_id for r in rows]
    if ids:
        for u in await session.execute(
            select(deviation_units)
            .where(deviation_units.c.deviation_id.in_(ids))
            .order_by(deviation_units.c.unit_id)
        ):
            units[u.deviation_id].append(u.unit_id)
        found = await session.execute(
            select(deviation_batches)
            .where(deviation_batches.c.deviation_id.in_(ids))
            .order_by(deviation_batches.c.batch_id)
        )
        for b in found:
            named[b.deviation_id].append(
                DeviationBatchView(batch_id=b.batch_id, coi=b.coi, detail=b.detail, lot_id=b.lot_id)
            )
    signed = await signatures_of(session, ids, time_zone)
    return [
        _deviation(r, named[r.deviation_id], units[r.deviation_id], signed.get(r.deviation_id, []))
        for r in rows
    ]


async def deviation_view(
    session: AsyncSession, deviation_id: str, time_zone: str = "UTC"
) -> DeviationView | None:
    row = (
        await session.execute(select(deviations).where(deviations.c.deviation_id == deviation_id))
    ).first()
    return None if row is None else (await _deviation_views(session, [row], time_zone))[0]


async def deviation_views(
    session: AsyncSession,
    *,
    coi: str | None = None,
    lot_id: str | None = None,
    equipment_id: str | None = None,
    batch_id: str | None = None,
    unit_id: str | None = None,
    shipment_id: str | None = None,
    material_lot_id: str | None = None,
    time_zone: str = "UTC",
) -> list[DeviationView]:
    """Deviations matching every filter given; a deviation on batches matches a CoI, lot or
    batch of a batch it names, and one naming units each of them."""
    query = select(deviations).order_by(deviations.c.opened_at, deviations.c.deviation_id)
    naming = select(deviation_batches.c.deviation_id)
    if coi is not None:
        query = query.where(
            (deviations.c.coi == coi)
            | deviations.c.deviation_id.in_(naming.where(deviation_batches.c.coi == coi))
        )
    if lot_id is not None:
        query = query.where(
            (deviations.c.lot_id == lot_id)
            | deviations.c.deviation_id.in_(naming.where(deviation_batches.c.lot_id == lot_id))
        )
    if batch_id is not None:
        query = query.where(
            deviations.c.deviation_id.in_(naming.where(deviation_batches.c.batch_id == batch_id))
        )
    if equipment_id is not None:
        query = query.where(deviations.c.equipment_id == equipment_id)
    if unit_id is not None:
        naming_unit = select(deviation_units.c.deviation_id)
        query = query.where(
            deviations.c.deviation_id.in_(naming_unit.where(deviation_units.c.unit_id == unit_id))
        )
    if shipment_id is not None:
        query = query.where(deviations.c.shipment_id == shipment_id)
    if material_lot_id is not None:
        query = query.where(deviations.c.material_lot_id == material_lot_id)
    return await _deviation_views(session, list(await session.execute(query)), time_zone)


async def lot_site(session: AsyncSession, lot_id: str) -> tuple[bool, str | None]:
    """(whether QC knows the lot, its manufacturing site if recorded)."""
    row = (
        await session.execute(select(lots.c.manufacturing_site).where(lots.c.lot_id == lot_id))
    ).first()
    return (row is not None, None if row is None else row.manufacturing_site)
