"""An approved change control naming an MBR version: the version becomes effective now if
QA has approved it, else when QA does (approve_mbr); then batch says it acted."""

from __future__ import annotations

from v2v_events.contracts.change_control import ChangeControlApproved, ChangeSubject
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.mbr import MasterBatchRecord, mbr_stream
from .change_implemented import implemented, log
from .common import operator, who


async def mbr_change(uow: UnitOfWork, msg: ChangeControlApproved) -> None:
    try:
        stream = mbr_stream(msg.subject_id, msg.site or "")
    except DomainError as refused:
        log.warning(
            "change control names no MBR batch can hold: %s",
            refused.detail,
            extra={"change_control_id": msg.change_control_id},
        )
        return
    repo = uow.repository(MasterBatchRecord)
    mbr = await repo.find(stream) or MasterBatchRecord.new(msg.subject_id, msg.site or "")
    now, approver = uow.clock.now(), operator(msg.actor)
    noted = mbr.note_change_control(
        msg.version,
        msg.change_control_id,
        approved_by=approver,
        approved_at=msg.approved_at,
        at=now,
    )
    if not noted:
        return  # heard of already, or the version is past being made effective
    effective = mbr.take_effect(msg.version, by=approver, at=now)
    await repo.save(mbr, who(msg.actor))  # QC's approver: whose act this carries out
    if effective:
        await mbr_implemented(uow, mbr, msg.version)


async def mbr_implemented(uow: UnitOfWork, mbr: MasterBatchRecord, version: int) -> None:
    """Tell QC the MBR version took effect through its change control."""
    v = mbr.versions[version]
    assert v.change_control_id is not None and v.effective_at is not None
    await implemented(
        uow,
        v.change_control_id,
        ChangeSubject.MBR,
        mbr.product_code,
        mbr.site,
        version,
        v.effective_at,
    )
