"""Exceptional release of an out-of-specification lot (stream ``qc-exceptional-release:<lot>``,
EudraLex Vol. 4 Part IV §11.5; US: expanded access).

Three signed records, in order: the treating physician's request (recorded by the treatment
center), the manufacturer's risk assessment (QA), and QA's decision. For an EU site the
decision opens a task once the product is infused: notify the competent authority within
48 h of administration, tracked until QA records the notification's reference. For a US
site the decision carries the expanded-access (IND/EA) reference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from v2v_events.contracts.exceptional_release import Region
from v2v_runtime.domain import Aggregate, Change, DomainEvent
from v2v_runtime.errors import Conflict, DomainError

from .common import QA_REVIEWER, Forbidden, Who, require_role

TREATMENT_CENTER_COORDINATOR = "treatment-center-coordinator"
AUTHORITY_NOTIFICATION_WINDOW = timedelta(hours=48)


def exceptional_release_stream(lot_id: str) -> str:
    return f"qc-exceptional-release:{lot_id}"


def decision_ref(lot_id: str) -> str:
    """The decision's reference, stable per lot (one exceptional release per lot)."""
    return f"XR-{lot_id}"


@dataclass(frozen=True)
class SiteRegions:
    """The regulatory region of each manufacturing site (V2V_SITE_REGIONS), the default
    for the others (V2V_DEFAULT_REGION)."""

    default: Region = Region.EU
    regions: Mapping[str, Region] = field(default_factory=dict)

    def of(self, site: str | None) -> Region:
        return self.regions.get(site or "", self.default)


class ExceptionalState(StrEnum):
    REQUESTED = "requested"
    ASSESSED = "assessed"
    RELEASED = "released"


class PhysicianRequestRecorded(DomainEvent):
    kind = "exceptional-release.requested"

    lot_id: str
    coi: str
    site: str | None = None  # the lot's manufacturing site
    treatment_center: str
    physician_name: str = Field(min_length=1)
    physician_id: str = Field(min_length=1, description="licence or registration number")
    justification: str = Field(min_length=1)
    recorded_at: datetime
    recorded_by: Who


class RiskAssessed(DomainEvent):
    kind = "exceptional-release.risk-assessed"

    lot_id: str
    assessment: str = Field(min_length=1)
    assessed_at: datetime
    assessed_by: Who


class ExceptionallyReleased(DomainEvent):
    kind = "exceptional-release.released"

    lot_id: str
    coi: str
    panel_id: str
    decision_ref: str
    region: Region
    site: str | None = None
    expanded_access_ref: str | None = None
    reason: str = Field(min_length=1)
    decided_at: datetime
    decided_by: Who

    def changes(self) -> list[Change]:
        return [Change(field="state", old=ExceptionalState.ASSESSED, new=ExceptionalState.RELEASED)]


class AuthorityNotificationDue(DomainEvent):
    """The product was infused (custody's infusion.recorded): the EU task's clock starts."""

    kind = "exceptional-release.authority-notification-due"

    lot_id: str
    infusion_id: str | None = None
    infused_at: datetime
    due_at: datetime


class AuthorityNotified(DomainEvent):
    kind = "exceptional-release.authority-notified"

    lot_id: str
    reference: str = Field(min_length=1)
    notified_at: datetime
    recorded_at: datetime
    recorded_by: Who


EXCEPTIONAL_RELEASE_EVENTS: tuple[type[DomainEvent], ...] = (
    PhysicianRequestRecorded,
    RiskAssessed,
    ExceptionallyReleased,
    AuthorityNotificationDue,
    AuthorityNotified,
)


class ExceptionalRelease(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.request: PhysicianRequestRecorded | None = None
        self.assessments: list[RiskAssessed] = []  # the newest counts; earlier ones kept
        self.released: ExceptionallyReleased | None = None
        self.due: AuthorityNotificationDue | None = None
        self.notified: AuthorityNotified | None = None

    @classmethod
    def of(cls, lot_id: str) -> ExceptionalRelease:
        return cls(exceptional_release_stream(lot_id))

    @property
    def lot_id(self) -> str:
        return self.id.removeprefix("qc-exceptional-release:")

    @property
    def state(self) -> ExceptionalState | None:
        if self.released is not None:
            return ExceptionalState.RELEASED
        if self.assessments:
            return ExceptionalState.ASSESSED
        return None if self.request is None else ExceptionalState.REQUESTED

    # -- commands --

    def check_request(self, out_of_specification: bool) -> None:
        """Before anything is signed: only an OOS lot, one request per lot."""
        self._undecided()
        if not out_of_specification:
            raise Conflict(
                "lot-not-out-of-specification",
                f"lot {self.lot_id} is not out of specification: an exceptional release is "
                "only for a lot that failed its specification",
                lot_id=self.lot_id,
            )
        if self.request is not None:
            raise Conflict(
                "physician-request-exists",
                f"the physician's request for lot {self.lot_id} is already recorded",
                recorded_at=self.request.recorded_at.isoformat(),
            )

    def record_request(
        self,
        *,
        coi: str,
        site: str | None,
        treatment_center: str,
        physician_name: str,
        physician_id: str,
        justification: str,
        out_of_specification: bool,
        by: Who,
        at: datetime,
    ) -> PhysicianRequestRecorded:
        require_role(by, TREATMENT_CENTER_COORDINATOR, "recording a physician's request")
        self.check_request(out_of_specification)
        event = PhysicianRequestRecorded(
            lot_id=self.lot_id,
            coi=coi,
            site=site,
            treatment_center=treatment_center,
            physician_name=physician_name,
            physician_id=physician_id,
            justification=justification,
            recorded_at=at,
            recorded_by=by,
        )
        self._record(event)
        return event

    def check_assessment(self) -> None:
        self._undecided()
        if self.request is None:
            raise Conflict(
                "physician-request-required",
                f"no physician's request is recorded for lot {self.lot_id}: the risk "
                "assessment answers one",
                missing=["physician-request"],
            )

    def assess(self, assessment: str, by: Who, at: datetime) -> RiskAssessed:
        """QA's risk assessment; again before the decision: the newest counts."""
        require_role(by, QA_REVIEWER, "a risk assessment")
        self.check_assessment()
        event = RiskAssessed(
            lot_id=self.lot_id, assessment=assessment, assessed_at=at, assessed_by=by
        )
        self._record(event)
        return event

    def check_release(
        self,
        *,
        recovery_decided: bool,
        region: Region,
        expanded_access_ref: str | None,
    ) -> None:
        """Before anything is signed: every record there, the US reference given."""
        self._undecided()
        missing = [
            name
            for name, there in (
                ("recovery-decision", recovery_decided),
                ("physician-request", self.request is not None),
                ("risk-assessment", bool(self.assessments)),
            )
            if not there
        ]
        if missing:
            raise Conflict(
                "exceptional-release-incomplete",
                f"lot {self.lot_id} cannot be released exceptionally without: "
                + ", ".join(missing),
                missing=missing,
            )
        if region is Region.US and not expanded_access_ref:
            raise DomainError(
                "expanded-access-reference-required",
                "a US site releases out-of-specification product under expanded access: "
                "give its IND/EA number (expanded_access_ref)",
                field="expanded_access_ref",
            )

    def release(
        self,
        *,
        panel_id: str,
        result_authors: frozenset[str],
        recovery_decided: bool,
        region: Region,
        site: str | None,
        expanded_access_ref: str | None,
        reason: str,
        by: Who,
        at: datetime,
    ) -> ExceptionallyReleased:
        require_role(by, QA_REVIEWER, "an exceptional release")
        self.check_release(
            recovery_decided=recovery_decided,
            region=region,
            expanded_access_ref=expanded_access_ref,
        )
        if by.user_id in result_authors:
            raise Forbidden(
                "release-by-result-author",
                f"{by.user_id} entered results of panel {panel_id}: another QA reviewer must "
                f"release lot {self.lot_id}",
            )
        assert self.request is not None
        event = ExceptionallyReleased(
            lot_id=self.lot_id,
            coi=self.request.coi,
            panel_id=panel_id,
            decision_ref=decision_ref(self.lot_id),
            region=region,
            site=site,
            expanded_access_ref=expanded_access_ref if region is Region.US else None,
            reason=reason,
            decided_at=at,
            decided_by=by,
        )
        self._record(event)
        return event

    def note_infusion(self, infusion_id: str | None, infused_at: datetime) -> bool:
        """The released product was infused: at an EU site the authority is owed a
        notification within 48 h. A repeat (or a US site) changes nothing."""
        if self.released is None or self.released.region is not Region.EU or self.due:
            return False
        self._record(
            AuthorityNotificationDue(
                lot_id=self.lot_id,
                infusion_id=infusion_id,
                infused_at=infused_at,
                due_at=infused_at + AUTHORITY_NOTIFICATION_WINDOW,
            )
        )
        return True

    def record_authority_notification(
        self, reference: str, notified_at: datetime, by: Who, at: datetime
    ) -> AuthorityNotified:
        require_role(by, QA_REVIEWER, "recording the authority's notification")
        if self.released is None or self.released.region is not Region.EU:
            raise Conflict(
                "no-authority-notification-task",
                f"lot {self.lot_id} has no authority notification to record: only an EU "
                "site's exceptional release owes one",
            )
        if self.notified is not None:
            raise Conflict(
                "authority-already-notified",
                f"the authority's notification for lot {self.lot_id} is recorded: "
                f"{self.notified.reference}",
                reference=self.notified.reference,
            )
        if notified_at > at:
            raise DomainError("notified-in-future", "notified_at is after now", field="notified_at")
        event = AuthorityNotified(
            lot_id=self.lot_id,
            reference=reference,
            notified_at=notified_at,
            recorded_at=at,
            recorded_by=by,
        )
        self._record(event)
        return event

    def apply(self, event: DomainEvent) -> None:
        match event:
            case PhysicianRequestRecorded():
                self.request = event
            case RiskAssessed():
                self.assessments.append(event)
            case ExceptionallyReleased():
                self.released = event
            case AuthorityNotificationDue():
                self.due = event
            case AuthorityNotified():
                self.notified = event
            case _:
                raise TypeError(f"exceptional release cannot apply {type(event).__name__}")

    def _undecided(self) -> None:
        if self.released is not None:
            raise Conflict(
                "exceptional-release-decided",
                f"lot {self.lot_id} was released exceptionally at "
                f"{self.released.decided_at.isoformat()}",
                decision_ref=self.released.decision_ref,
            )
