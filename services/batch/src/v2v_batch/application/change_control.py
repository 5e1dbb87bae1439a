"""Batch acts on the quality unit's change controls (QC's qc.change-control.approved): the
MBR version named becomes effective — now if QA has approved it, else when QA does — and
the SOP version named takes effect at its effective date. Each time batch acted it says so
(batch.change-control.implemented), and QC closes the change control.

A specification's change control is QC's own; one batch cannot act on (an MBR of a product
code or site batch cannot hold) is logged and left."""

from __future__ import annotations

from v2v_events.contracts.change_control import ChangeControlApproved, ChangeSubject
from v2v_runtime.uow import UnitOfWork

from .mbr_change_control import mbr_change
from .sop_change_control import sop_change


async def act_on_change_control(uow: UnitOfWork, msg: ChangeControlApproved) -> None:
    if msg.subject_kind is ChangeSubject.MBR:
        await mbr_change(uow, msg)
    elif msg.subject_kind is ChangeSubject.SOP:
        await sop_change(uow, msg)
