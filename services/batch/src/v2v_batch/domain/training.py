"""Training and qualification: the SOP register (one SopDocument per document id, its
versions) and a person's qualifications (one Training per user id), and the rule of who
is qualified at a moment.

A qualification is named by a code: ``sop:<document id>`` (trained on a version of that SOP
which has not lapsed), ``gowning``, ``aseptic-process-simulation``, or a practical
qualification's code (a step's required qualification, e.g. ``car-t-transduction``). It
holds at ``t`` when granted from a time not after ``t``, not expired at ``t`` and not
revoked by ``t``; training on an SOP version lapses from the training due time of the next
version."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError, NotFound

from .checks import check_pattern, check_text
from .training_events import (
    QualificationGranted,
    QualificationKind,
    QualificationRevoked,
    SopChangeControlApproved,
    SopVersionRegistered,
)

SOP_PREFIX = "sop-"
TRAINING_PREFIX = "training-"
DOCUMENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
PRACTICAL_CODE_PATTERN = r"^[a-z][a-z0-9-]{0,63}$"
# What a check may name (a step's required qualification is one of these).
QUALIFICATION_PATTERN = r"^(sop:[A-Za-z0-9][A-Za-z0-9._-]{0,63}|[a-z][a-z0-9-]{0,63})$"
APS_VALIDITY = timedelta(days=365)  # an aseptic process simulation, at least once a year
RESERVED = {QualificationKind.GOWNING.value, QualificationKind.ASEPTIC_PROCESS_SIMULATION.value}


class NotQualified(DomainError):
    """The person may not do this act now (403): not qualified at that moment. A 403, not a
    422: nothing is wrong with what was entered; this person may not do it (another,
    qualified person may)."""

    status = 403
    title = "Not qualified"


def sop_code(document_id: str) -> str:
    return f"sop:{document_id}"


class SopDocument(Aggregate):
    """An SOP's versions. A version is registered pending; it is in force only through a
    change control approved in QC naming it (``approvals``), from its effective date."""

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.versions: list[SopVersionRegistered] = []
        self.approvals: dict[int, SopChangeControlApproved] = {}  # version -> its approval

    @staticmethod
    def stream_for(document_id: str) -> str:
        return SOP_PREFIX + document_id

    @property
    def document_id(self) -> str:
        return self.id.removeprefix(SOP_PREFIX)

    def register_version(
        self,
        *,
        version: int,
        title: str,
        effective_at: datetime,
        training_due_at: datetime,
        registered_at: datetime,
    ) -> SopVersionRegistered:
        """A new version: later than the last, effective after it, and trained on no later
        than it is effective (people are retrained before the new version applies)."""
        check_pattern("document_id", self.document_id, DOCUMENT_ID_PATTERN)
        check_text("title", title)
        last = self.versions[-1] if self.versions else None
        if last is not None and version <= last.version:
            raise Conflict(
                "sop-version-not-newer",
                f"{self.document_id} is at version {last.version}: a new version is later",
                field="version",
                current_version=last.version,
            )
        if last is not None and effective_at <= last.effective_at:
            raise DomainError(
                "sop-effective-before-previous",
                f"version {version} must become effective after version {last.version} "
                f"({last.effective_at.isoformat()})",
                field="effective_at",
            )
        if training_due_at > effective_at:
            raise DomainError(
                "training-due-after-effective",
                "training on a new version is due no later than it becomes effective",
                field="training_due_at",
            )
        event = SopVersionRegistered(
            document_id=self.document_id,
            version=version,
            title=title,
            effective_at=effective_at,
            training_due_at=training_due_at,
            registered_at=registered_at,
        )
        self._record(event)
        return event

    def registered_version(self, version: int) -> SopVersionRegistered:
        for v in self.versions:
            if v.version == version:
                return v
        raise DomainError(
            "sop-version-unknown",
            f"{self.document_id} has no version {version} in the register",
            field="sop_version",
        )

    def lapses_at(self, version: int) -> datetime | None:
        """When training on ``version`` lapses: the training due time of the next version
        change control approved (a pending version changes nothing)."""
        later = [
            v.training_due_at
            for v in self.versions
            if v.version > version and v.version in self.approvals
        ]
        return min(later) if later else None

    def note_change_control(
        self,
        version: int,
        change_control_id: str,
        *,
        approved_by: tuple[str, str],
        approved_at: datetime,
        at: datetime,
    ) -> bool:
        """An approved change control names ``version`` (False: one did already)."""
        check_pattern("document_id", self.document_id, DOCUMENT_ID_PATTERN)
        if version in self.approvals:
            return False
        self._record(
            SopChangeControlApproved(
                document_id=self.document_id,
                version=version,
                change_control_id=change_control_id,
                approved_by_user=approved_by[0],
                approved_by_role=approved_by[1],
                approved_at=approved_at,
                noted_at=at,
            )
        )
        return True

    def in_force(self, version: int) -> SopVersionRegistered | None:
        """The version, registered and approved through change control (else None)."""
        if version not in self.approvals:
            return None
        return next((v for v in self.versions if v.version == version), None)

    def apply(self, event: DomainEvent) -> None:
        match event:
            case SopVersionRegistered():
                self.versions.append(event)
            case SopChangeControlApproved():
                self.approvals[event.version] = event
            case _:
                raise TypeError(f"an SOP does not apply {type(event).__name__}")


@dataclass(frozen=True)
class Grant:
    """A qualification as granted, with its revocation if any."""

    event: QualificationGranted
    revoked_at: datetime | None = None
    revocation_reason: str | None = None


# (document id, version) -> when training on it lapses (None: it has not)
Lapses = Callable[[str, int], datetime | None]


class Training(Aggregate):
    """One person's qualifications."""

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.grants: dict[str, Grant] = {}

    @staticmethod
    def stream_for(user_id: str) -> str:
        return TRAINING_PREFIX + user_id

    @property
    def user_id(self) -> str:
        return self.id.removeprefix(TRAINING_PREFIX)

    def grant(
        self,
        *,
        qualification_id: str,
        kind: QualificationKind,
        code: str | None,
        sop: SopVersionRegistered | None,
        valid_from: datetime,
        expires_at: datetime | None,
        reference: str,
        recorded_at: datetime,
        late: bool,
    ) -> QualificationGranted:
        check_text("reference", reference)
        code = _code(kind, code, sop)
        if kind is QualificationKind.ASEPTIC_PROCESS_SIMULATION:
            longest = valid_from + APS_VALIDITY
            if expires_at is not None and expires_at > longest:
                raise DomainError(
                    "aps-validity-too-long",
                    "an aseptic process simulation qualifies for a year at most",
                    field="expires_at",
                )
            expires_at = expires_at or longest
        if expires_at is not None and expires_at <= valid_from:
            raise DomainError(
                "expires-before-valid", "expires_at must lie after valid_from", field="expires_at"
            )
        event = QualificationGranted(
            qualification_id=qualification_id,
            user_id=self.user_id,
            qualification_kind=kind,
            code=code,
            document_id=None if sop is None else sop.document_id,
            sop_version=None if sop is None else sop.version,
            valid_from=valid_from,
            expires_at=expires_at,
            reference=reference,
            recorded_at=recorded_at,
            late=late,
        )
        self._record(event)
        return event

    def revoke(self, qualification_id: str, reason: str, at: datetime) -> None:
        check_text("reason", reason, 2000)
        found = self.grants.get(qualification_id)
        if found is None:
            raise NotFound(
                "qualification-not-found",
                f"{self.user_id} has no qualification {qualification_id!r}",
            )
        if found.revoked_at is not None:
            raise Conflict("qualification-revoked", f"{qualification_id} is already revoked")
        self._record(
            QualificationRevoked(qualification_id=qualification_id, reason=reason, revoked_at=at)
        )

    def check(self, code: str, at: datetime, lapses: Lapses) -> QualificationGranted:
        """The grant that qualifies the person for ``code`` at ``at``, or 403 not-qualified
        naming why (none held, not yet valid, expired, revoked, or the SOP version lapsed)."""
        reasons: list[str] = []
        for grant in sorted(self.grants.values(), key=lambda g: g.event.valid_from, reverse=True):
            if grant.event.code != code:
                continue
            why = why_not(grant, at, lapses)
            if why is None:
                return grant.event
            reasons.append(why)
        detail = "; ".join(reasons) if reasons else f"holds no qualification {code}"
        raise NotQualified(
            "not-qualified",
            f"{self.user_id} is not qualified for {code} at {at.isoformat()}: {detail}",
            user_id=self.user_id,
            qualification=code,
        )

    def apply(self, event: DomainEvent) -> None:
        match event:
            case QualificationGranted():
                self.grants[event.qualification_id] = Grant(event)
            case QualificationRevoked():
                grant = self.grants[event.qualification_id]
                self.grants[event.qualification_id] = Grant(
                    grant.event, event.revoked_at, event.reason
                )
            case _:
                raise TypeError(f"training does not apply {type(event).__name__}")


def why_not(grant: Grant, at: datetime, lapses: Lapses) -> str | None:
    """Why ``grant`` does not qualify at ``at`` (None: it does)."""
    g = grant.event
    if at < g.valid_from:
        return f"{g.qualification_id} is valid only from {g.valid_from.isoformat()}"
    if grant.revoked_at is not None and grant.revoked_at <= at:
        return f"{g.qualification_id} was revoked at {grant.revoked_at.isoformat()}"
    if g.expires_at is not None and at >= g.expires_at:
        return f"{g.qualification_id} expired at {g.expires_at.isoformat()}"
    if g.document_id is not None and g.sop_version is not None:
        lapsed = lapses(g.document_id, g.sop_version)
        if lapsed is not None and at >= lapsed:
            return (
                f"training on {g.document_id} version {g.sop_version} lapsed at "
                f"{lapsed.isoformat()} (a later version's training due time)"
            )
    return None


def _code(kind: QualificationKind, code: str | None, sop: SopVersionRegistered | None) -> str:
    """The code a qualification of ``kind`` is checked by."""
    if (kind is QualificationKind.SOP) != (sop is not None):
        raise DomainError(
            "sop-version-required",
            "training on an SOP names its document_id and sop_version, and only it does",
            field="document_id",
        )
    if kind is QualificationKind.PRACTICAL:
        if code is None or not re.fullmatch(PRACTICAL_CODE_PATTERN, code) or code in RESERVED:
            raise DomainError(
                "invalid-code",
                f"a practical qualification has a code matching {PRACTICAL_CODE_PATTERN} "
                f"(not {', '.join(sorted(RESERVED))})",
                field="code",
            )
        return code
    if code is not None:
        raise DomainError(
            "code-not-allowed", f"a {kind.value} qualification has no code", field="code"
        )
    return kind.value if sop is None else sop_code(sop.document_id)
