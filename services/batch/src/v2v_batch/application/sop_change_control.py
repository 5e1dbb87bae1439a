"""Batch's SOP register acting on an approved change control naming an SOP version: the
version takes effect at its effective date (training on the versions before lapses at its
training due time). Registered already: batch says it acted (implemented); not yet: it
does when QA registers the version."""

from __future__ import annotations

from v2v_events.contracts.change_control import ChangeControlApproved, ChangeSubject
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.training import SopDocument
from .change_implemented import implemented, log
from .common import who


async def sop_change(uow: UnitOfWork, msg: ChangeControlApproved) -> None:
    repo = uow.repository(SopDocument)
    stream = SopDocument.stream_for(msg.subject_id)
    doc = await repo.find(stream) or SopDocument(stream)
    try:
        noted = doc.note_change_control(
            msg.version,
            msg.change_control_id,
            approved_by=(msg.actor.user_id, msg.actor.role),
            approved_at=msg.approved_at,
            at=uow.clock.now(),
        )
    except DomainError as refused:
        log.warning(
            "change control names no SOP batch can hold: %s",
            refused.detail,
            extra={"change_control_id": msg.change_control_id},
        )
        return
    if not noted:
        return
    await repo.save(doc, who(msg.actor))
    await sop_implemented(uow, doc, msg.version)


async def sop_implemented(uow: UnitOfWork, doc: SopDocument, version: int) -> None:
    """Tell QC the SOP version is in force from its effective date (when it is registered
    and approved; else nothing yet)."""
    registered = doc.in_force(version)
    if registered is None:
        return
    await implemented(
        uow,
        doc.approvals[version].change_control_id,
        ChangeSubject.SOP,
        doc.document_id,
        None,
        version,
        registered.effective_at,
    )
