"""Change control: QC (the quality unit) approves a change to a controlled document — a
master batch record, a QC specification or an SOP — naming the version it makes effective;
the service that owns the document acts on the approval and says so.

They concern a document, not one patient: their key (``ce_subject``) is the document
(``<kind>:<subject id>``, with ``@<site>`` for an MBR), so one document's changes keep
their order."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ..bounds import INT32_MAX
from ..catalog import Service
from ..registry import REGISTRY, Contract
from .common import Actor, BoundedDatetime, Identifier, Name, Text


class ChangeSubject(StrEnum):
    """What a change control changes: its ``subject_id`` is the MBR's product code (at
    ``site``), the specification's id, or the SOP's document id."""

    MBR = "mbr"
    SPECIFICATION = "specification"
    SOP = "sop"


def change_subject_key(kind: ChangeSubject, subject_id: str, site: str | None) -> str:
    """The Kafka key (and ``ce_subject``) of a change control's messages: the document."""
    return f"{kind.value}:{subject_id}" + (f"@{site}" if site else "")


@REGISTRY.event(Service.QC, "change-control.approved", version=1)
class ChangeControlApproved(Contract):
    """QA approved a change control with an e-signature (meaning `approved`): the version
    it names (`subject_kind`, `subject_id`, `site` for an MBR, `version`) may become
    effective; the service owning the document acts on it (batch for MBRs and SOPs, QC for
    specifications). `actor` is the approver. Key: the document, not a CoI."""

    change_control_id: Identifier
    subject_kind: ChangeSubject
    subject_id: Identifier
    site: Name | None = None
    version: int = Field(ge=1, le=INT32_MAX)
    description: Text
    approved_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(Service.BATCH, "change-control.implemented", version=1)
class ChangeControlImplemented(Contract):
    """Batch acted on an approved change control: the MBR version it names became effective
    (`effective_at`), or the SOP version it names takes effect at its effective date. QC
    marks the change control implemented. Key: the document, not a CoI."""

    change_control_id: Identifier
    subject_kind: ChangeSubject
    subject_id: Identifier
    site: Name | None = None
    version: int = Field(ge=1, le=INT32_MAX)
    effective_at: BoundedDatetime
    implemented_at: BoundedDatetime
