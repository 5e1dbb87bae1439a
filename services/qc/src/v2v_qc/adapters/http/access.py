"""Who may call QC's routes, and which lots they see: a lot belongs to its manufacturing
site, and a caller sees the QC of lots of their own sites (a lot whose site QC never learnt,
registered before sites were kept, only to callers of every site)."""

from __future__ import annotations

from typing import Annotated

from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.authz import GMP_PEOPLE, Caller, Roles, allowed
from v2v_runtime.errors import NotFound

from ...application.deviation_views import DeviationView
from ..db import queries

R = Roles
QUALITY_READERS = (
    R.QC_ANALYST,
    R.QC_REVIEWER,
    R.QA_REVIEWER,
    R.QUALIFIED_PERSON,
    R.MANUFACTURING_SUPERVISOR,
    R.CELL_THERAPY_SPECIALIST,
    R.AUDITOR,
)
Reader = Annotated[Caller, allowed(*QUALITY_READERS)]
SpecReader = Annotated[Caller, allowed(*QUALITY_READERS, R.ADMINISTRATOR)]
# A treatment center receives the certificate of analysis with the product.
CertificateReader = Annotated[
    Caller,
    allowed(*QUALITY_READERS, R.TREATMENT_CENTER_COORDINATOR, R.INFUSION_NURSE),
]
Analyst = Annotated[Caller, allowed(R.QC_ANALYST)]
QcReviewer = Annotated[Caller, allowed(R.QC_REVIEWER)]
QualityUnit = Annotated[Caller, allowed(R.QA_REVIEWER)]
# How a journey goes on after its lot failed: QA, or the qualified person.
RecoveryDecider = Annotated[Caller, allowed(R.QA_REVIEWER, R.QUALIFIED_PERSON)]
# Anyone doing GMP work may report a deviation.
Reporter = Annotated[Caller, allowed(*GMP_PEOPLE)]


async def sees_lot(session: AsyncSession, caller: Caller, lot_id: str) -> bool:
    known, site = await queries.lot_site(session, lot_id)
    if not known or site is None:
        return caller.sees_all_sites
    return caller.may_see(site)


async def require_lot(session: AsyncSession, caller: Caller, lot_id: str) -> None:
    """404 for a lot the caller may not see (its existence is not disclosed either)."""
    if not await sees_lot(session, caller, lot_id):
        raise NotFound("lot-not-found", f"QC knows no lot {lot_id!r}")


async def sees_deviation(session: AsyncSession, caller: Caller, deviation: DeviationView) -> bool:
    """A deviation on a lot: as its lot; on batches: as its site (none: every site only)."""
    if deviation.lot_id is not None:
        return await sees_lot(session, caller, deviation.lot_id)
    if deviation.site is None:
        return caller.sees_all_sites
    return caller.may_see(deviation.site)
