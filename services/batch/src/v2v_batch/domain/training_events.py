"""Domain events of training and qualification: the SOP register (stream id =
``sop-<document id>``) and each person's qualifications (``training-<user id>``)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from v2v_runtime.domain import DomainEvent


class QualificationKind(StrEnum):
    SOP = "sop"  # read and understood one version of an SOP
    PRACTICAL = "practical"  # qualified to perform a step (a step's required qualification)
    GOWNING = "gowning"  # gowning qualification for the clean rooms
    # A successful aseptic process simulation (media fill), valid for a year at most.
    ASEPTIC_PROCESS_SIMULATION = "aseptic-process-simulation"


class SopVersionRegistered(DomainEvent):
    """A version of an SOP enters the register, pending its change control: once one
    approved in QC names it, it is effective from ``effective_at``, and who works to the SOP
    is trained on it by ``training_due_at``, after which training on the versions before it
    lapses."""

    kind = "sop.version-registered"

    document_id: str
    version: int = Field(ge=1)
    title: str
    effective_at: AwareDatetime
    training_due_at: AwareDatetime
    registered_at: AwareDatetime


class SopChangeControlApproved(DomainEvent):
    """QC approved a change control naming this version (qc.change-control.approved): it
    takes effect at its effective date (it may not be registered yet)."""

    kind = "sop.change-control-approved"

    document_id: str
    version: int = Field(ge=1)
    change_control_id: str
    approved_by_user: str
    approved_by_role: str
    approved_at: AwareDatetime
    noted_at: AwareDatetime


class QualificationGranted(DomainEvent):
    """A person holds a qualification from ``valid_from`` (the training, assessment or
    simulation it rests on: ``reference``) until ``expires_at`` (None: no expiry; training
    on an SOP version lapses when a later version's training is due)."""

    kind = "qualification.granted"
    observed_times = ("valid_from",)

    qualification_id: str
    user_id: str
    qualification_kind: QualificationKind
    code: str  # what a check names: sop:<document id>, gowning, ..., or a practical code
    document_id: str | None = None
    sop_version: int | None = None
    valid_from: AwareDatetime
    expires_at: AwareDatetime | None
    reference: str
    recorded_at: AwareDatetime
    late: bool = False


class QualificationRevoked(DomainEvent):
    kind = "qualification.revoked"

    qualification_id: str
    reason: str
    revoked_at: AwareDatetime


TRAINING_EVENTS: tuple[type[DomainEvent], ...] = (
    SopVersionRegistered,
    QualificationGranted,
    QualificationRevoked,
    SopChangeControlApproved,
)
