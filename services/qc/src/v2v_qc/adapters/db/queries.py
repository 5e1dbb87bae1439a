"""Read-side queries over the read models."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ...application.views import (
    DecisionView,
    DeviationView,
    PanelView,
    ResultEntryView,
    ResultView,
    TestView,
)
from ...domain.events import Certificate
from .tables import certificates, deviations, lots, panels, results


async def panel_views(
    session: AsyncSession, *, coi: str | None = None, lot_id: str | None = None
) -> list[PanelView]:
    query = select(panels).order_by(panels.c.ordered_at, panels.c.panel_id)
    if coi is not None:
        query = query.where(panels.c.coi == coi)
    if lot_id is not None:
        query = query.where(panels.c.lot_id == lot_id)
    rows = (await session.execute(query)).all()
    return await _views(session, rows)


async def panel_view(session: AsyncSession, panel_id: str) -> PanelView | None:
    rows = (await session.execute(select(panels).where(panels.c.panel_id == panel_id))).all()
    views = await _views(session, rows)
    return views[0] if views else None


async def _views(session: AsyncSession, rows: Sequence[Any]) -> list[PanelView]:
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
    views = []
    for row in rows:
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
            )
        )
    return views


async def certificate(session: AsyncSession, certificate_id: str) -> Certificate | None:
    row = (
        await session.execute(
            select(certificates.c.body).where(certificates.c.certificate_id == certificate_id)
        )
    ).first()
    return None if row is None else Certificate.model_validate(row.body)


def _deviation(r: Any) -> DeviationView:
    return DeviationView(
        deviation_id=r.deviation_id,
        coi=r.coi,
        lot_id=r.lot_id,
        panel_id=r.panel_id,
        classification=r.classification,
        source=r.source,
        description=r.description,
        state=r.state,
        opened_at=r.opened_at,
        opened_by=r.opened_by,
        closed_at=r.closed_at,
        closed_by=r.closed_by,
        closure_reason=r.closure_reason,
        batch_id=r.batch_id,
        exception_id=r.exception_id,
        site=r.site,
    )


async def deviation_view(session: AsyncSession, deviation_id: str) -> DeviationView | None:
    row = (
        await session.execute(select(deviations).where(deviations.c.deviation_id == deviation_id))
    ).first()
    return None if row is None else _deviation(row)


async def deviation_views(
    session: AsyncSession,
    *,
    coi: str | None = None,
    lot_id: str | None = None,
    batch_id: str | None = None,
) -> list[DeviationView]:
    query = select(deviations).order_by(deviations.c.opened_at, deviations.c.deviation_id)
    if coi is not None:
        query = query.where(deviations.c.coi == coi)
    if lot_id is not None:
        query = query.where(deviations.c.lot_id == lot_id)
    if batch_id is not None:
        query = query.where(deviations.c.batch_id == batch_id)
    return [_deviation(r) for r in await session.execute(query)]


async def lot_site(session: AsyncSession, lot_id: str) -> tuple[bool, str | None]:
    """(whether QC knows the lot, its manufacturing site if recorded)."""
    row = (
        await session.execute(select(lots.c.manufacturing_site).where(lots.c.lot_id == lot_id))
    ).first()
    return (row is not None, None if row is None else row.manufacturing_site)
