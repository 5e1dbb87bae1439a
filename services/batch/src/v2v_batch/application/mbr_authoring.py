"""Authoring a master batch record and moving it through its lifecycle (everything but
QA's signed approval, in approve_mbr): draft a new version, revise the draft, submit it
for review, return it to draft, retire one. A version becomes effective through its change
control (mbr_change_control), never by an act here."""

from __future__ import annotations

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.mbr import MasterBatchRecord, MbrVersion, mbr_stream
from ..domain.mbr_content import MbrContent
from .common import operator, who


async def _load(uow: UnitOfWork, product_code: str, site: str) -> MasterBatchRecord:
    return await uow.repository(MasterBatchRecord).get(mbr_stream(product_code, site))


async def draft_mbr(
    uow: UnitOfWork, product_code: str, site: str, content: MbrContent, actor: Actor
) -> MbrVersion:
    """A new version (the next number) in draft; the first version creates the record."""
    repo = uow.repository(MasterBatchRecord)
    mbr = await repo.find(mbr_stream(product_code, site)) or MasterBatchRecord.new(
        product_code, site
    )
    drafted = mbr.draft(content, by=operator(actor), at=uow.clock.now())
    await repo.save(mbr, who(actor))
    return drafted


async def revise_mbr(
    uow: UnitOfWork, product_code: str, site: str, version: int, content: MbrContent, actor: Actor
) -> None:
    mbr = await _load(uow, product_code, site)
    mbr.revise(version, content, by=operator(actor), at=uow.clock.now())
    await uow.repository(MasterBatchRecord).save(mbr, who(actor))


async def submit_mbr(
    uow: UnitOfWork, product_code: str, site: str, version: int, actor: Actor
) -> None:
    mbr = await _load(uow, product_code, site)
    mbr.submit(version, by=operator(actor), at=uow.clock.now())
    await uow.repository(MasterBatchRecord).save(mbr, who(actor))


async def return_mbr(
    uow: UnitOfWork, product_code: str, site: str, version: int, reason: str, actor: Actor
) -> None:
    mbr = await _load(uow, product_code, site)
    mbr.send_back(version, reason, by=operator(actor), at=uow.clock.now())
    await uow.repository(MasterBatchRecord).save(mbr, who(actor))


async def retire_mbr(
    uow: UnitOfWork, product_code: str, site: str, version: int, reason: str, actor: Actor
) -> None:
    mbr = await _load(uow, product_code, site)
    mbr.retire(version, reason, by=operator(actor), at=uow.clock.now())
    await uow.repository(MasterBatchRecord).save(mbr, who(actor))
