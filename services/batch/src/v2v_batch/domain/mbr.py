"""Master batch records: every version of one product's MBR at one site, and its lifecycle
draft -> in review -> approved (QA's signature) -> effective -> superseded / retired.

One version at most is effective per product and site; one at most is being authored (a
draft or in review). A version becomes effective only through a change control approved in
QC naming it (qc.change-control.approved): as soon as both QA's approval of the version and
the change control's are known, whichever comes last."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError, NotFound

from .checks import check_identifier
from .events import Operator
from .mbr_content import MbrContent, check_content
from .mbr_events import (
    MbrChangeControlApproved,
    MbrVersionApproved,
    MbrVersionDrafted,
    MbrVersionEffective,
    MbrVersionRetired,
    MbrVersionReturned,
    MbrVersionRevised,
    MbrVersionSubmitted,
)
from .product import PRODUCT_CODE_PATTERN
from .verification import SeparationOfDuties

STREAM_PREFIX = "mbr-"


class MbrStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in-review"
    APPROVED = "approved"
    EFFECTIVE = "effective"
    SUPERSEDED = "superseded"
    RETIRED = "retired"


AUTHORING = frozenset({MbrStatus.DRAFT, MbrStatus.IN_REVIEW})


@dataclass(frozen=True)
class MbrVersion:
    version: int
    content: MbrContent
    status: MbrStatus
    drafted_by: Operator
    drafted_at: datetime
    authors: frozenset[str]  # who drafted or revised it: none of them approves it
    submitted_at: datetime | None = None
    approved_by: Operator | None = None
    approved_at: datetime | None = None
    approval_signature_id: str | None = None
    effective_at: datetime | None = None
    change_control_id: str | None = None  # the change control it took effect through
    ended_at: datetime | None = None  # superseded or retired
    end_reason: str | None = None
    history: tuple[str, ...] = field(default=())  # returns to draft, with their reasons


def mbr_stream(product_code: str, site: str) -> str:
    if not re.fullmatch(PRODUCT_CODE_PATTERN, product_code):
        raise DomainError(
            "invalid-product-code",
            f"{product_code!r} is not a cellular therapy product code",
            field="product_code",
        )
    check_identifier("site", site)
    return f"{STREAM_PREFIX}{product_code}@{site}"


class MasterBatchRecord(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.product_code = ""
        self.site = ""
        self.versions: dict[int, MbrVersion] = {}
        # version -> the approved change control naming it (the first one batch heard of)
        self.change_controls: dict[int, MbrChangeControlApproved] = {}

    @classmethod
    def new(cls, product_code: str, site: str) -> MasterBatchRecord:
        mbr = cls(mbr_stream(product_code, site))
        mbr.product_code, mbr.site = product_code, site
        return mbr

    # --- queries -------------------------------------------------------------------------

    @property
    def effective(self) -> MbrVersion | None:
        return next((v for v in self.versions.values() if v.status is MbrStatus.EFFECTIVE), None)

    @property
    def ever_effective(self) -> bool:
        """Once a version has been effective, batches of the product at the site follow an
        MBR: none effective then refuses them rather than falling back to the fixed steps."""
        return any(v.effective_at is not None for v in self.versions.values())

    def version_of(self, number: int) -> MbrVersion:
        found = self.versions.get(number)
        if found is None:
            raise NotFound(
                "mbr-version-not-found",
                f"{self.product_code} at {self.site} has no MBR version {number}",
            )
        return found

    def _in(self, number: int, *statuses: MbrStatus) -> MbrVersion:
        v = self.version_of(number)
        if v.status not in statuses:
            raise Conflict(
                "mbr-status",
                f"MBR {self.product_code} v{number} at {self.site} is {v.status.value}, not "
                + " or ".join(s.value for s in statuses),
                mbr_status=v.status.value,
            )
        return v

    # --- commands ------------------------------------------------------------------------

    def draft(self, content: MbrContent, *, by: Operator, at: datetime) -> MbrVersion:
        check_content(content)
        open_ = [v.version for v in self.versions.values() if v.status in AUTHORING]
        if open_:
            raise Conflict(
                "mbr-version-open",
                f"version {open_[0]} of {self.product_code} at {self.site} is being authored: "
                "revise it or have it approved first",
                version=open_[0],
            )
        number = max(self.versions, default=0) + 1
        self._record(
            MbrVersionDrafted(
                product_code=self.product_code,
                site=self.site,
                version=number,
                content=content,
                drafted_by=by,
                drafted_at=at,
            )
        )
        return self.versions[number]

    def revise(self, number: int, content: MbrContent, *, by: Operator, at: datetime) -> None:
        self._in(number, MbrStatus.DRAFT)
        check_content(content)
        self._record(
            MbrVersionRevised(version=number, content=content, revised_by=by, revised_at=at)
        )

    def submit(self, number: int, *, by: Operator, at: datetime) -> None:
        self._in(number, MbrStatus.DRAFT)
        self._record(MbrVersionSubmitted(version=number, submitted_by=by, submitted_at=at))

    def send_back(self, number: int, reason: str, *, by: Operator, at: datetime) -> None:
        self._in(number, MbrStatus.IN_REVIEW)
        if not reason.strip():
            raise DomainError("reason-required", "say why the version goes back", field="reason")
        self._record(
            MbrVersionReturned(version=number, reason=reason, returned_by=by, returned_at=at)
        )

    def check_approval(self, number: int, approver: Operator | None = None) -> MbrVersion:
        """The version QA may approve now (refused before anyone signs); never by one of its
        authors (``approver``: the signer, known once signed)."""
        v = self._in(number, MbrStatus.IN_REVIEW)
        if approver is not None and approver.user_id in v.authors:
            raise SeparationOfDuties(
                "approval-by-author",
                f"{approver.user_id!r} authored MBR {self.product_code} v{number}: another "
                "person approves it",
            )
        return v

    def approve(self, number: int, *, by: Operator, at: datetime, signature_id: str) -> None:
        v = self.check_approval(number, by)
        self._record(
            MbrVersionApproved(
                version=number,
                content_hash=v.content.content_hash(),
                approved_by=by,
                approved_at=at,
                signature_id=signature_id,
            )
        )

    def note_change_control(
        self,
        number: int,
        change_control_id: str,
        *,
        approved_by: Operator,
        approved_at: datetime,
        at: datetime,
    ) -> bool:
        """An approved change control names version ``number`` (it may not be drafted yet).
        False: one was noted for it already, or the version is past being made effective."""
        if number in self.change_controls:
            return False
        v = self.versions.get(number)
        if v is not None and v.status not in (*AUTHORING, MbrStatus.APPROVED):
            return False
        self._record(
            MbrChangeControlApproved(
                product_code=self.product_code,
                site=self.site,
                version=number,
                change_control_id=change_control_id,
                approved_by=approved_by,
                approved_at=approved_at,
                noted_at=at,
            )
        )
        return True

    def take_effect(self, number: int, *, by: Operator, at: datetime) -> bool:
        """Make the version effective if QA approved it and its change control is approved
        (False: one of them is still missing)."""
        v = self.versions.get(number)
        if v is None or v.status is not MbrStatus.APPROVED or number not in self.change_controls:
            return False
        self.make_effective(number, by=by, at=at)
        return True

    def make_effective(self, number: int, *, by: Operator, at: datetime) -> bool:
        """The approved version becomes effective through its approved change control (409
        change-control-missing without one). False: effective through it already."""
        v = self.version_of(number)
        cc = self.change_controls.get(number)
        if v.status is MbrStatus.EFFECTIVE and cc is not None:
            return False
        self._in(number, MbrStatus.APPROVED)
        if cc is None:
            raise Conflict(
                "change-control-missing",
                f"MBR {self.product_code} v{number} at {self.site} becomes effective only "
                "through a change control approved in QC naming this version",
                version=number,
            )
        current = self.effective
        self._record(
            MbrVersionEffective(
                version=number,
                effective_at=at,
                made_effective_by=by,
                superseded_version=None if current is None else current.version,
                change_control_id=cc.change_control_id,
            )
        )
        return True

    def retire(self, number: int, reason: str, *, by: Operator, at: datetime) -> None:
        self._in(number, MbrStatus.APPROVED, MbrStatus.EFFECTIVE)
        if not reason.strip():
            raise DomainError("reason-required", "say why the version is retired", field="reason")
        self._record(MbrVersionRetired(version=number, reason=reason, retired_by=by, retired_at=at))

    # --- state ---------------------------------------------------------------------------

    def _set(self, number: int, **changes: object) -> None:
        self.versions[number] = replace(self.versions[number], **changes)  # type: ignore[arg-type]

    def apply(self, event: DomainEvent) -> None:
        match event:
            case MbrVersionDrafted():
                self.product_code, self.site = event.product_code, event.site
                self.versions[event.version] = MbrVersion(
                    version=event.version,
                    content=event.content,
                    status=MbrStatus.DRAFT,
                    drafted_by=event.drafted_by,
                    drafted_at=event.drafted_at,
                    authors=frozenset({event.drafted_by.user_id}),
                )
            case MbrVersionRevised():
                v = self.versions[event.version]
                authors = v.authors | {event.revised_by.user_id}
                self._set(event.version, content=event.content, authors=authors)
            case MbrVersionSubmitted():
                self._set(
                    event.version, status=MbrStatus.IN_REVIEW, submitted_at=event.submitted_at
                )
            case MbrVersionReturned():
                v = self.versions[event.version]
                note = f"returned to draft by {event.returned_by.user_id}: {event.reason}"
                self._set(event.version, status=MbrStatus.DRAFT, history=(*v.history, note))
            case MbrVersionApproved():
                self._set(
                    event.version,
                    status=MbrStatus.APPROVED,
                    approved_by=event.approved_by,
                    approved_at=event.approved_at,
                    approval_signature_id=event.signature_id,
                )
            case MbrVersionEffective():
                if event.superseded_version is not None:
                    self._set(
                        event.superseded_version,
                        status=MbrStatus.SUPERSEDED,
                        ended_at=event.effective_at,
                        end_reason=f"superseded by version {event.version}",
                    )
                self._set(
                    event.version,
                    status=MbrStatus.EFFECTIVE,
                    effective_at=event.effective_at,
                    change_control_id=event.change_control_id,
                )
            case MbrChangeControlApproved():
                self.product_code, self.site = event.product_code, event.site
                self.change_controls[event.version] = event
            case MbrVersionRetired():
                self._set(
                    event.version,
                    status=MbrStatus.RETIRED,
                    ended_at=event.retired_at,
                    end_reason=event.reason,
                )
            case _:
                raise TypeError(f"an MBR does not apply {type(event).__name__}")
