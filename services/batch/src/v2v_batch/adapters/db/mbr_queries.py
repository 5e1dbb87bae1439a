"""Queries on the MBR read models."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ...application.execution_views import MbrVersionSummary, Who
from .mbr_tables import mbr_pins, mbrs
from .tables import batches


async def mbr_versions(
    session: AsyncSession, product_code: str | None, site: str | None, status: str | None
) -> list[MbrVersionSummary]:
    query = select(mbrs).order_by(mbrs.c.product_code, mbrs.c.site, mbrs.c.version)
    if product_code is not None:
        query = query.where(mbrs.c.product_code == product_code)
    if site is not None:
        query = query.where(mbrs.c.site == site)
    if status is not None:
        query = query.where(mbrs.c.status == status)
    return [
        MbrVersionSummary(
            product_code=r.product_code,
            site=r.site,
            version=r.version,
            status=r.status,
            title=r.title,
            therapy=r.therapy,
            drafted_at=r.drafted_at,
            drafted_by=Who(user_id=r.drafted_by_user, role=r.drafted_by_role),
            approved_at=r.approved_at,
            effective_at=r.effective_at,
            ended_at=r.ended_at,
            change_control_id=r.change_control_id,
        )
        for r in await session.execute(query)
    ]


async def batch_site(session: AsyncSession, batch_id: str) -> tuple[str, bool] | None:
    """(manufacturing site, whether it follows an MBR) of a batch; None if unknown."""
    row = (
        await session.execute(
            select(batches.c.manufacturing_site, mbr_pins.c.batch_id.label("pinned"))
            .select_from(batches.outerjoin(mbr_pins, mbr_pins.c.batch_id == batches.c.batch_id))
            .where(batches.c.batch_id == batch_id)
        )
    ).first()
    return None if row is None else (row.manufacturing_site, row.pinned is not None)
