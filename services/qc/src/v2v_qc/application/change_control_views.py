"""A change control as the API shows it: what it changes, its assessments (the latest
first in force, the earlier ones kept), QA's decision and its signature, and whether the
owning service acted on it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from v2v_events.contracts.change_control import ChangeSubject
from v2v_runtime.signatures.model import SignatureView

from ..domain.change_control import ChangeControl
from ..domain.change_control_events import ChangeControlState, ImpactAssessment
from ..domain.common import Who


class AssessmentView(ImpactAssessment):
    assessed_at: datetime
    assessed_by: Who


class ChangeControlView(BaseModel):
    change_control_id: str
    subject_kind: ChangeSubject
    subject_id: str
    site: str | None
    version: int
    subject: str = Field(description='the document version, e.g. "MBR S2CART at site-1 v2"')
    description: str
    reason: str
    state: ChangeControlState
    raised_at: datetime
    raised_by: Who
    assessment: AssessmentView | None = None
    earlier_assessments: list[AssessmentView] = Field(
        default_factory=list, description="replaced by a later assessment, oldest first"
    )
    approved_at: datetime | None = None
    approved_by: Who | None = None
    approval_comment: str | None = None
    rejected_at: datetime | None = None
    rejected_by: Who | None = None
    rejection_reason: str | None = None
    implemented_by: str | None = Field(default=None, description="the service that acted")
    effective_at: datetime | None = None
    implemented_at: datetime | None = None
    signatures: list[SignatureView] = Field(default_factory=list)  # QA's decision


def change_control_view(
    change: ChangeControl, signatures: Sequence[SignatureView] = ()
) -> ChangeControlView:
    i = change.info
    assessed = [
        AssessmentView(
            **a.assessment.model_dump(), assessed_at=a.assessed_at, assessed_by=a.assessed_by
        )
        for a in change.assessments
    ]
    approved, rejected, done = change.approved, change.rejected, change.implemented
    return ChangeControlView(
        change_control_id=change.id,
        subject_kind=i.subject_kind,
        subject_id=i.subject_id,
        site=i.site,
        version=i.version,
        subject=change.subject,
        description=i.description,
        reason=i.reason,
        state=change.state,
        raised_at=i.raised_at,
        raised_by=i.raised_by,
        assessment=assessed[-1] if assessed else None,
        earlier_assessments=assessed[:-1],
        approved_at=None if approved is None else approved.approved_at,
        approved_by=None if approved is None else approved.approved_by,
        approval_comment=None if approved is None else approved.comment,
        rejected_at=None if rejected is None else rejected.rejected_at,
        rejected_by=None if rejected is None else rejected.rejected_by,
        rejection_reason=None if rejected is None else rejected.reason,
        implemented_by=None if done is None else done.service,
        effective_at=None if done is None else done.effective_at,
        implemented_at=None if done is None else done.implemented_at,
        signatures=list(signatures),
    )
