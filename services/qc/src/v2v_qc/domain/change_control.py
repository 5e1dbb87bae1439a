"""Change control: a request to change a controlled document — a master batch record
(product at a site), a QC specification or an SOP — to a named version. A new version
becomes effective only through an approved change control: raised (why, what) ->
assessed (impact: products, batches, documents, risk, training, validation) -> approved
by QA (signed) -> implemented (the service owning the document acted on the approval);
or rejected by QA (signed) before approval. Whoever raised a change does not decide on it.
"""

from __future__ import annotations

import re
from datetime import datetime

from v2v_events.contracts.change_control import ChangeSubject
from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError

from .change_control_events import (
    ChangeControlApproved,
    ChangeControlImplemented,
    ChangeControlRaised,
    ChangeControlRejected,
    ChangeControlState,
    ChangeImpactAssessed,
    ImpactAssessment,
)
from .common import QA_REVIEWER, QC_REVIEWER, Forbidden, Who, require_role

MANUFACTURING_SUPERVISOR = "manufacturing-supervisor"
# Who raises and assesses a change: the process owner, QC's reviewer, the quality unit.
CHANGE_OWNERS = frozenset({MANUFACTURING_SUPERVISOR, QC_REVIEWER, QA_REVIEWER})
SUBJECT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
DECIDED = frozenset(
    {ChangeControlState.APPROVED, ChangeControlState.REJECTED, ChangeControlState.IMPLEMENTED}
)


def describe(kind: ChangeSubject, subject_id: str, site: str | None, version: int) -> str:
    """The document version, as people name it ("MBR S2CART at site-1 v2")."""
    named = {
        ChangeSubject.MBR: f"MBR {subject_id} at {site}",
        ChangeSubject.SPECIFICATION: f"specification {subject_id}",
        ChangeSubject.SOP: f"SOP {subject_id}",
    }[kind]
    return f"{named} v{version}"


def check_subject(kind: ChangeSubject, subject_id: str, site: str | None) -> None:
    """An MBR is one product's at one site; a specification or an SOP belongs to no site."""
    if not re.fullmatch(SUBJECT_ID_PATTERN, subject_id):
        raise DomainError(
            "invalid-subject-id",
            f"{subject_id!r} is not a product code, specification id or SOP document id",
            field="subject_id",
        )
    if kind is ChangeSubject.MBR and not site:
        raise DomainError(
            "site-required", "a master batch record is a product's at one site", field="site"
        )
    if kind is not ChangeSubject.MBR and site is not None:
        raise DomainError(
            "site-not-applicable",
            f"a {kind.value} belongs to no one site: leave site out",
            field="site",
        )


class ChangeControl(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.raised: ChangeControlRaised | None = None
        self.assessments: list[ChangeImpactAssessed] = []
        self.approved: ChangeControlApproved | None = None
        self.rejected: ChangeControlRejected | None = None
        self.implemented: ChangeControlImplemented | None = None

    # --- queries -------------------------------------------------------------------------

    @property
    def info(self) -> ChangeControlRaised:
        if self.raised is None:
            raise RuntimeError("change control not raised")
        return self.raised

    @property
    def assessment(self) -> ImpactAssessment | None:
        return self.assessments[-1].assessment if self.assessments else None

    @property
    def state(self) -> ChangeControlState:
        if self.implemented is not None:
            return ChangeControlState.IMPLEMENTED
        if self.approved is not None:
            return ChangeControlState.APPROVED
        if self.rejected is not None:
            return ChangeControlState.REJECTED
        if self.assessments:
            return ChangeControlState.ASSESSED
        return ChangeControlState.RAISED

    @property
    def subject(self) -> str:
        i = self.info
        return describe(i.subject_kind, i.subject_id, i.site, i.version)

    # --- commands ------------------------------------------------------------------------

    @classmethod
    def raise_(
        cls,
        change_control_id: str,
        *,
        subject_kind: ChangeSubject,
        subject_id: str,
        site: str | None,
        version: int,
        description: str,
        reason: str,
        by: Who,
        at: datetime,
    ) -> ChangeControl:
        _require_owner(by, "raising a change control")
        check_subject(subject_kind, subject_id, site)
        cc = cls(change_control_id)
        cc._record(
            ChangeControlRaised(
                change_control_id=change_control_id,
                subject_kind=subject_kind,
                subject_id=subject_id,
                site=site,
                version=version,
                description=description,
                reason=reason,
                raised_at=at,
                raised_by=by,
            )
        )
        return cc

    def assess(self, assessment: ImpactAssessment, by: Who, at: datetime) -> None:
        """The impact assessment; again while the change is undecided (the new one counts)."""
        _require_owner(by, "assessing a change control")
        self._check_undecided("assessed")
        if assessment == self.assessment:
            raise Conflict(
                "assessment-unchanged",
                f"change control {self.id} is already assessed with these values",
            )
        self._record(
            ChangeImpactAssessed(
                change_control_id=self.id,
                assessment=assessment,
                previous=self.assessment,
                assessed_at=at,
                assessed_by=by,
            )
        )

    def check_decision(self, by: Who | None = None, *, approving: bool = True) -> None:
        """Whether QA may decide now (refused before anyone signs); never the person who
        raised it (``by``: the signer, known once signed)."""
        self._check_undecided("approved" if approving else "rejected")
        if approving and not self.assessments:
            raise Conflict(
                "change-control-not-assessed",
                f"change control {self.id} has no impact assessment: assess it before approval",
            )
        if by is None:
            return
        require_role(by, QA_REVIEWER, "deciding on a change control")
        if by.user_id == self.info.raised_by.user_id:
            # Segregation of duties: who asks for a change does not approve it.
            raise Forbidden(
                "approval-by-author" if approving else "rejection-by-author",
                f"{by.user_id} raised change control {self.id}: another QA reviewer decides",
            )

    def approve(self, comment: str | None, by: Who, at: datetime) -> ChangeControlApproved:
        self.check_decision(by)
        event = ChangeControlApproved(
            change_control_id=self.id, comment=comment, approved_at=at, approved_by=by
        )
        self._record(event)
        return event

    def reject(self, reason: str, by: Who, at: datetime) -> None:
        self.check_decision(by, approving=False)
        self._record(
            ChangeControlRejected(
                change_control_id=self.id, reason=reason, rejected_at=at, rejected_by=by
            )
        )

    def implement(
        self, service: str, effective_at: datetime, implemented_at: datetime, at: datetime
    ) -> bool:
        """The owning service acted on the approval (False: known already, or nothing
        approved to act on — a report of another state changes nothing)."""
        if self.state is not ChangeControlState.APPROVED:
            return False
        self._record(
            ChangeControlImplemented(
                change_control_id=self.id,
                service=service,
                effective_at=effective_at,
                implemented_at=implemented_at,
                noted_at=at,
            )
        )
        return True

    # --- state ---------------------------------------------------------------------------

    def apply(self, event: DomainEvent) -> None:
        match event:
            case ChangeControlRaised():
                self.raised = event
            case ChangeImpactAssessed():
                self.assessments.append(event)
            case ChangeControlApproved():
                self.approved = event
            case ChangeControlRejected():
                self.rejected = event
            case ChangeControlImplemented():
                self.implemented = event
            case _:
                raise TypeError(f"a change control cannot apply {type(event).__name__}")

    def _check_undecided(self, act: str) -> None:
        if self.state in DECIDED:
            raise Conflict(
                "change-control-decided",
                f"change control {self.id} is {self.state.value}: it can no longer be {act}",
                state=self.state.value,
            )


def _require_owner(by: Who, action: str) -> None:
    if by.role not in CHANGE_OWNERS:
        raise Forbidden(
            "role-not-allowed",
            f"{action} needs one of the roles {', '.join(sorted(CHANGE_OWNERS))}; "
            f"{by.user_id!r} acts as {by.role!r}",
        )
