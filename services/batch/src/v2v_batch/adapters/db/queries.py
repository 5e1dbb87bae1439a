"""Queries on the read models for the HTTP reads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.signatures.model import SignatureView
from v2v_runtime.signatures.store import signatures_of

from ...application.views import (
    BatchRecord,
    BatchSummary,
    Flag,
    LotView,
    ManufacturingFailure,
    MaterialView,
    Person,
    ProductConfigView,
    Rejection,
    StepView,
)
from ...domain.lot import LotStatus
from .mbr_tables import mbr_steps
from .tables import batches, lots, materials, steps


async def _steps_done(session: AsyncSession, batch_ids: Sequence[str]) -> dict[str, list[str]]:
    done: dict[str, list[str]] = defaultdict(list)
    if batch_ids:
        rows = await session.execute(
            select(steps.c.batch_id, steps.c.step)
            .where(steps.c.batch_id.in_(batch_ids))
            .order_by(steps.c.batch_id, steps.c.position)
        )
        for r in rows:
            done[r.batch_id].append(r.step)
        rows = await session.execute(
            select(mbr_steps.c.batch_id, mbr_steps.c.step_id)
            .where(mbr_steps.c.batch_id.in_(batch_ids))
            .order_by(mbr_steps.c.batch_id, mbr_steps.c.position)
        )
        for r in rows:  # batches executed from their MBR
            done[r.batch_id].append(r.step_id)
    return done


def _summary_fields(r: Any, done: list[str]) -> dict[str, Any]:
    return {
        "batch_id": r.batch_id,
        "coi": r.coi,
        "status": r.status,
        "source": r.source,
        "attempt": r.attempt,
        "apheresis_unit_id": r.apheresis_unit_id,
        "din": r.din,
        "manufacturing_site": r.manufacturing_site,
        "product_code": r.product_code,
        "opened_at": r.opened_at,
        "steps_done": done,
        "next_step": r.next_step,
        "lot_id": r.lot_id,
    }


async def _summaries(session: AsyncSession, where: Any) -> list[BatchSummary]:
    rows = (
        await session.execute(
            select(batches).where(where).order_by(batches.c.attempt, batches.c.opened_at)
        )
    ).all()
    done = await _steps_done(session, [r.batch_id for r in rows])
    return [BatchSummary(**_summary_fields(r, done[r.batch_id])) for r in rows]


async def batches_of(session: AsyncSession, coi: str) -> list[BatchSummary]:
    return await _summaries(session, batches.c.coi == coi)


def _step(r: Any, verified_steps: Sequence[str], signed: dict[str, SignatureView]) -> StepView:
    verified_by = None
    if r.verified_by_user is not None:
        verified_by = Person(user_id=r.verified_by_user, role=r.verified_by_role)
    ids = (r.signature_id, r.verification_signature_id)
    return StepView(
        step=r.step,
        equipment_id=r.equipment_id,
        started_at=r.started_at,
        ended_at=r.ended_at,
        viable_cell_count=r.viable_cell_count,
        viability_pct=r.viability_pct,
        retained_aliquots=r.retained_aliquots,
        flags=[Flag(**f) for f in r.flags],
        operator=Person(user_id=r.operator_user, role=r.operator_role),
        recorded_at=r.recorded_at,
        late=r.late,
        verification_required=r.step in verified_steps,
        verified_by=verified_by,
        verified_at=r.verified_at,
        signatures=[signed[i] for i in ids if i is not None and i in signed],
    )


async def _signatures(
    session: AsyncSession, batch_id: str, time_zone: str
) -> dict[str, SignatureView]:
    """The batch's signatures (its steps' performed and verified) by signature id."""
    found = await signatures_of(session, [batch_id], time_zone)
    return {s.signature_id: s for s in found.get(batch_id, [])}


def _lot(r: Any) -> LotView:
    rejection, failure = None, None
    if r.rejected_at is not None and r.status == LotStatus.MANUFACTURING_FAILED.value:
        failure = ManufacturingFailure(
            reason=r.rejection_reason,
            deviation_id=r.deviation_id,
            failed_at=r.rejected_at,
            recorded_by=Person(user_id=r.rejected_by_user, role=r.rejected_by_role),
        )
    elif r.rejected_at is not None:
        rejection = Rejection(
            reason=r.rejection_reason,
            deviation_id=r.deviation_id,
            rejected_at=r.rejected_at,
            rejected_by=Person(user_id=r.rejected_by_user, role=r.rejected_by_role),
        )
    return LotView(
        lot_id=r.lot_id,
        batch_id=r.batch_id,
        coi=r.coi,
        status=r.status,
        bag_ids=list(r.bag_ids),
        bag_count=len(r.bag_ids),
        total_viable_cells=r.total_viable_cells,
        viability_pct=r.viability_pct,
        manufacturing_site=r.manufacturing_site,
        attempt=r.attempt,
        produced_at=r.produced_at,
        expires_at=r.expires_at,
        retained_aliquots_remaining=r.retained_aliquots_remaining,
        produced_by=Person(user_id=r.produced_by_user, role=r.produced_by_role),
        manufacturing_failure=failure,
        rejection=rejection,
    )


async def step(
    session: AsyncSession, batch_id: str, name: str, time_zone: str = "UTC"
) -> StepView | None:
    row = (
        await session.execute(
            select(steps).where(steps.c.batch_id == batch_id, steps.c.step == name)
        )
    ).first()
    if row is None:
        return None
    spec = (
        await session.execute(select(batches.c.spec).where(batches.c.batch_id == batch_id))
    ).scalar_one()
    signed = await _signatures(session, batch_id, time_zone)
    return _step(row, spec.get("verified_steps", []), signed)


async def lot(session: AsyncSession, lot_id: str) -> LotView | None:
    row = (await session.execute(select(lots).where(lots.c.lot_id == lot_id))).first()
    return None if row is None else _lot(row)


async def batch_record(
    session: AsyncSession, batch_id: str, time_zone: str = "UTC"
) -> BatchRecord | None:
    r = (await session.execute(select(batches).where(batches.c.batch_id == batch_id))).first()
    if r is None:
        return None
    step_rows = (
        await session.execute(
            select(steps).where(steps.c.batch_id == batch_id).order_by(steps.c.position)
        )
    ).all()
    lot_view = None if r.lot_id is None else await lot(session, r.lot_id)
    signed = await _signatures(session, batch_id, time_zone)
    shown = [_step(s, r.spec.get("verified_steps", []), signed) for s in step_rows]
    return BatchRecord(
        **_summary_fields(r, (await _steps_done(session, [batch_id]))[batch_id]),
        config=ProductConfigView(**r.spec),
        previous_lot_id=r.previous_lot_id,
        opened_by=Person(user_id=r.opened_by_user, role=r.opened_by_role),
        retained_aliquots=r.retained_aliquots,
        steps=shown,
        unverified_steps=[s.step for s in shown if s.verification_required and not s.verified_by],
        lot=lot_view,
    )


async def material(session: AsyncSession, apheresis_unit_id: str) -> MaterialView | None:
    r = (
        await session.execute(
            select(materials).where(materials.c.apheresis_unit_id == apheresis_unit_id)
        )
    ).first()
    if r is None:
        return None
    return MaterialView(
        apheresis_unit_id=r.apheresis_unit_id,
        coi=r.coi,
        din=r.din,
        collected_at=r.collected_at,
        retained=r.retained,
        consumed=r.consumed,
        remaining=r.retained - r.consumed,
        batches=await _summaries(session, batches.c.apheresis_unit_id == apheresis_unit_id),
    )
