"""The qualification port of step execution: ``Qualifications(uow).check(user_id,
qualification, at)`` returns the qualification that lets the person act at ``at``, or
refuses with 403 ``not-qualified`` naming why (nothing held, not yet valid, expired,
revoked, or trained on an SOP version that has lapsed)."""

from __future__ import annotations

from datetime import datetime

from v2v_runtime.uow import UnitOfWork

from ..domain.training import Lapses, NotQualified, SopDocument, Training, why_not
from ..domain.training_events import QualificationGranted
from .register_views import QualificationView, QualifiedView, TrainingRecord


async def training_of(uow: UnitOfWork, user_id: str) -> Training:
    """A person's training record (empty for someone never trained)."""
    stream = Training.stream_for(user_id)
    return await uow.repository(Training).find(stream) or Training(stream)


async def sops_of(uow: UnitOfWork, training: Training) -> dict[str, SopDocument]:
    """The SOPs the person was trained on, by document id."""
    repo = uow.repository(SopDocument)
    ids = {g.event.document_id for g in training.grants.values() if g.event.document_id}
    return {d: await repo.get(SopDocument.stream_for(d)) for d in sorted(ids)}


def lapses(sops: dict[str, SopDocument]) -> Lapses:
    """When training on a version of these SOPs lapses."""

    def lapsed(document_id: str, version: int) -> datetime | None:
        return sops[document_id].lapses_at(version)

    return lapsed


class Qualifications:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def check(self, user_id: str, qualification: str, at: datetime) -> QualificationGranted:
        training = await training_of(self._uow, user_id)
        sops = await sops_of(self._uow, training)
        return training.check(qualification, at, lapses(sops))


async def training_record(uow: UnitOfWork, user_id: str, at: datetime) -> TrainingRecord:
    """Every qualification of the person, and whether each holds at ``at`` (and why not)."""
    training = await training_of(uow, user_id)
    lapsed = lapses(await sops_of(uow, training))
    shown = []
    for grant in sorted(training.grants.values(), key=lambda g: g.event.recorded_at):
        g, why = grant.event, why_not(grant, at, lapsed)
        shown.append(
            QualificationView(
                qualification_id=g.qualification_id,
                kind=g.qualification_kind.value,
                code=g.code,
                document_id=g.document_id,
                sop_version=g.sop_version,
                valid_from=g.valid_from,
                expires_at=g.expires_at,
                reference=g.reference,
                recorded_at=g.recorded_at,
                revoked_at=grant.revoked_at,
                revocation_reason=grant.revocation_reason,
                holds=why is None,
                why_not=why,
            )
        )
    return TrainingRecord(user_id=user_id, at=at, qualifications=shown)


async def qualified(uow: UnitOfWork, user_id: str, code: str, at: datetime) -> QualifiedView:
    """Whether the person is qualified for ``code`` at ``at``: the check as a question."""
    try:
        found = await Qualifications(uow).check(user_id, code, at)
    except NotQualified as refused:
        return QualifiedView(
            user_id=user_id, qualification=code, at=at, qualified=False, reason=refused.detail
        )
    return QualifiedView(
        user_id=user_id,
        qualification=code,
        at=at,
        qualified=True,
        qualification_id=found.qualification_id,
    )
