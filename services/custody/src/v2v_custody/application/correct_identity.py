"""Correct a patient's identity: a new version of the identity stream with the old values,
the new ones, the reason (a configured reason code and its text), who and when (the old
values are never lost)."""

from __future__ import annotations

import logging
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import NotFound
from v2v_runtime.reasons import ReasonCodes
from v2v_runtime.uow import UnitOfWork

from ..domain.identity import IdentityRecord, PatientIdentity, identity_stream
from .actors import who

log = logging.getLogger("v2v.custody.identity")


class CorrectIdentity(BaseModel):
    """The corrected fields (those left out stay as they are) and the mandatory reason: a
    configured reason code and the text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=300)
    birth_date: date | None = None
    medical_record_number: str | None = Field(None, min_length=1, max_length=128)
    reason_code: str = Field(min_length=1, max_length=64, examples=["transcription-error"])
    reason: str = Field(min_length=1, max_length=2000, examples=["MRN transposed at enrolment"])


class IdentityCorrection(BaseModel):
    """What was corrected (field names only), why, by whom and when."""

    coi: str
    corrected: list[str]
    reason_code: str
    reason: str
    corrected_at: datetime
    corrected_by: str
    version: int  # of the identity stream


async def correct_identity(
    uow: UnitOfWork, coi: str, cmd: CorrectIdentity, actor: Actor, reasons: ReasonCodes
) -> IdentityCorrection:
    reasons.require(cmd.reason_code)
    repo = uow.repository(IdentityRecord)
    record = await repo.find(identity_stream(coi))
    if record is None:
        raise NotFound("patient-not-found", f"no patient {coi!r}")
    old = record.current
    new = PatientIdentity(
        name=cmd.name if cmd.name is not None else old.name,
        birth_date=cmd.birth_date if cmd.birth_date is not None else old.birth_date,
        medical_record_number=(
            cmd.medical_record_number
            if cmd.medical_record_number is not None
            else old.medical_record_number
        ),
    )
    record.correct(new, cmd.reason_code, cmd.reason, uow.clock.now().date())
    [stored] = await repo.save(record, who(actor))
    changed = old.differences(new)
    # Who changed which fields of whose identity; never the values.
    log.info(
        "patient identity corrected",
        extra={"coi": coi, "fields": changed, "user_id": actor.user_id, "role": actor.role},
    )
    return IdentityCorrection(
        coi=coi,
        corrected=changed,
        reason_code=cmd.reason_code,
        reason=cmd.reason,
        corrected_at=stored.recorded_at,
        corrected_by=actor.user_id,
        version=stored.version,
    )
