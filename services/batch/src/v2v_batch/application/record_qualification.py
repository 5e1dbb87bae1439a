"""Record a person's qualification (training on an SOP version, a practical qualification,
gowning, an aseptic process simulation) or revoke one. Recorded by a supervisor or the
quality unit, never by the person themself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain import SeparationOfDuties
from ..domain.training import SopDocument, Training
from ..domain.training_events import QualificationGranted, QualificationKind
from .common import who


@dataclass(frozen=True)
class QualificationEntry:
    kind: QualificationKind
    valid_from: datetime
    reference: str
    code: str | None = None  # a practical qualification's code
    document_id: str | None = None  # training on an SOP: the document and its version
    sop_version: int | None = None
    expires_at: datetime | None = None


def _not_self(user_id: str, actor: Actor) -> None:
    if user_id == actor.user_id:
        raise SeparationOfDuties(
            "self-qualification",
            "a person's qualifications are recorded by someone else (a supervisor or QA)",
        )


async def grant_qualification(
    uow: UnitOfWork,
    user_id: str,
    entry: QualificationEntry,
    window: ReportedTimeWindow,
    actor: Actor,
) -> QualificationGranted:
    _not_self(user_id, actor)
    now = uow.clock.now()
    window.check_not_future(entry.valid_from, now, field="valid_from", what="qualification")
    sop = None
    if entry.document_id is not None:
        doc = await uow.repository(SopDocument).find(SopDocument.stream_for(entry.document_id))
        if doc is None or entry.sop_version is None:
            raise DomainError(
                "sop-unknown",
                f"no SOP {entry.document_id!r} (with a sop_version) in the register",
                field="document_id",
            )
        sop = doc.registered_version(entry.sop_version)
    repo = uow.repository(Training)
    stream = Training.stream_for(user_id)
    training = await repo.find(stream) or Training(stream)
    granted = training.grant(
        qualification_id=uow.ids.new_id(),
        kind=entry.kind,
        code=entry.code,
        sop=sop,
        valid_from=entry.valid_from,
        expires_at=entry.expires_at,
        reference=entry.reference,
        recorded_at=now,
        late=window.is_late(entry.valid_from, now),
    )
    await repo.save(training, who(actor))
    return granted


async def revoke_qualification(
    uow: UnitOfWork, user_id: str, qualification_id: str, reason: str, actor: Actor
) -> None:
    _not_self(user_id, actor)
    repo = uow.repository(Training)
    stream = Training.stream_for(user_id)
    training = await repo.find(stream) or Training(stream)
    training.revoke(qualification_id, reason, uow.clock.now())
    await repo.save(training, who(actor))
