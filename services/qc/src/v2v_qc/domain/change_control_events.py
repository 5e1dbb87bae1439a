"""Domain events of change control (stream: the change control's id) and the values they
carry: what is changed, the impact assessment and its risk level."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.change_control import ChangeSubject
from v2v_runtime.domain import Change, DomainEvent

from .common import Who


class ChangeControlState(StrEnum):
    RAISED = "raised"
    ASSESSED = "assessed"
    APPROVED = "approved"
    REJECTED = "rejected"
    IMPLEMENTED = "implemented"  # the owning service acted on the approval: closed


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ImpactAssessment(BaseModel):
    """What the change touches and what it needs before it may take effect ("none" is an
    answer; an empty field is not)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    affected_products: str = Field(min_length=1, max_length=2000)
    affected_batches: str = Field(min_length=1, max_length=2000)
    affected_documents: str = Field(min_length=1, max_length=2000)
    risk_level: RiskLevel
    risk: str = Field(min_length=1, max_length=4000, description="the risk assessment")
    training_needed: str = Field(min_length=1, max_length=2000)
    validation_needed: str = Field(min_length=1, max_length=2000)


class ChangeControlRaised(DomainEvent):
    kind = "change-control.raised"

    change_control_id: str
    subject_kind: ChangeSubject
    subject_id: str
    site: str | None  # an MBR's site; None for a specification or an SOP
    version: int = Field(ge=1)
    description: str
    reason: str
    raised_at: datetime
    raised_by: Who


class ChangeImpactAssessed(DomainEvent):
    """The impact assessment (again, while undecided: the earlier one stays in the stream
    and ``changes`` names what differs)."""

    kind = "change-control.assessed"

    change_control_id: str
    assessment: ImpactAssessment
    previous: ImpactAssessment | None = None
    assessed_at: datetime
    assessed_by: Who

    def changes(self) -> list[Change]:
        if self.previous is None:
            return []
        old, new = self.previous.model_dump(mode="json"), self.assessment.model_dump(mode="json")
        return [Change(field=k, old=old[k], new=new[k]) for k in new if old[k] != new[k]]


class ChangeControlApproved(DomainEvent):
    """QA approved the change (signed, meaning approved; the signature follows)."""

    kind = "change-control.approved"

    change_control_id: str
    comment: str | None = None
    approved_at: datetime
    approved_by: Who


class ChangeControlRejected(DomainEvent):
    """QA rejected the change (signed, meaning rejected): the version never takes effect
    through it."""

    kind = "change-control.rejected"

    change_control_id: str
    reason: str
    rejected_at: datetime
    rejected_by: Who


class ChangeControlImplemented(DomainEvent):
    """The service owning the document acted on the approval (``service``): the version is
    effective from ``effective_at``."""

    kind = "change-control.implemented"

    change_control_id: str
    service: str
    effective_at: datetime
    implemented_at: datetime  # when the owning service acted
    noted_at: datetime  # when QC learnt it


CHANGE_CONTROL_EVENTS: tuple[type[DomainEvent], ...] = (
    ChangeControlRaised,
    ChangeImpactAssessed,
    ChangeControlApproved,
    ChangeControlRejected,
    ChangeControlImplemented,
)
