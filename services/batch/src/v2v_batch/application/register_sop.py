"""Register a version of an SOP: its effective time and the time by which whoever works to
it is trained on it (training on earlier versions lapses then). It is registered pending:
it takes effect only through a change control approved in QC naming it (which may have come
first: then batch says it acted now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.training import SopDocument
from ..domain.training_events import SopVersionRegistered
from .common import who
from .sop_change_control import sop_implemented


@dataclass(frozen=True)
class SopVersionEntry:
    document_id: str
    version: int
    title: str
    effective_at: datetime
    training_due_at: datetime


async def register_sop_version(
    uow: UnitOfWork, entry: SopVersionEntry, actor: Actor
) -> SopVersionRegistered:
    repo = uow.repository(SopDocument)
    stream = SopDocument.stream_for(entry.document_id)
    doc = await repo.find(stream) or SopDocument(stream)
    registered = doc.register_version(
        version=entry.version,
        title=entry.title,
        effective_at=entry.effective_at,
        training_due_at=entry.training_due_at,
        registered_at=uow.clock.now(),
    )
    await repo.save(doc, who(actor))
    await sop_implemented(uow, doc, entry.version)
    return registered
