"""HTTP: exceptional release of an out-of-specification lot — the physician's request (the
treatment center's coordinator, signed: authored), QA's risk assessment (signed: approved),
QA's decision (signed: released), the EU authority's notification (QA), and the views
(one lot's record with its signatures; the list, e.g. the notifications overdue)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel

from v2v_events.contracts.exceptional_release import Region
from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.errors import NotFound
from v2v_runtime.http_deps import Kit, NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning, SignatureView
from v2v_runtime.signatures.store import signatures_of
from v2v_runtime.uow import UnitOfWork

from ...application import exceptional_release as xr
from ...domain.common import Who
from ...domain.exceptional_release import (
    AuthorityNotificationDue,
    AuthorityNotified,
    ExceptionallyReleased,
    ExceptionalRelease,
    ExceptionalState,
    PhysicianRequestRecorded,
    RiskAssessed,
    SiteRegions,
    exceptional_release_stream,
)
from ..db.exceptional_releases import find_exceptional_releases, sees_exceptional_release
from .access import QUALITY_READERS, QualityUnit, require_lot
from .deviation_acts import WithSignature
from .signing import SiteZone

Coordinator = Annotated[Caller, allowed(Roles.TREATMENT_CENTER_COORDINATOR)]
XrReader = Annotated[Caller, allowed(*QUALITY_READERS, Roles.TREATMENT_CENTER_COORDINATOR)]


class SignedRequest(xr.PhysicianRequestEntry, WithSignature):
    pass


class SignedAssessment(xr.RiskAssessmentEntry, WithSignature):
    pass


class SignedDecision(xr.ExceptionalReleaseEntry, WithSignature):
    pass


class AuthorityTask(BaseModel):
    """The EU task: notify the competent authority within 48 h of administration."""

    infused_at: datetime | None
    due_at: datetime | None  # None until custody recorded the infusion
    notified_at: datetime | None
    reference: str | None
    recorded_by: Who | None
    state: str  # awaiting-infusion | due | overdue | done


class ExceptionalReleaseView(BaseModel):
    lot_id: str
    state: ExceptionalState | None
    request: PhysicianRequestRecorded | None
    assessments: list[RiskAssessed]  # the newest counts
    decision: ExceptionallyReleased | None
    authority_notification: AuthorityTask | None  # EU only, once released
    signatures: list[SignatureView]


def _task(release: ExceptionalRelease, now: datetime) -> AuthorityTask | None:
    decided = release.released
    if decided is None or decided.region is not Region.EU:
        return None
    due: AuthorityNotificationDue | None = release.due
    done: AuthorityNotified | None = release.notified
    if done is not None:
        state = "done"
    elif due is None:
        state = "awaiting-infusion"
    else:
        state = "overdue" if now > due.due_at else "due"
    return AuthorityTask(
        infused_at=None if due is None else due.infused_at,
        due_at=None if due is None else due.due_at,
        notified_at=None if done is None else done.notified_at,
        reference=None if done is None else done.reference,
        recorded_by=None if done is None else done.recorded_by,
        state=state,
    )


async def view(uow: UnitOfWork, lot_id: str, zone: str = "UTC") -> ExceptionalReleaseView:
    release = await xr.load(uow, lot_id)
    stream = exceptional_release_stream(lot_id)
    signed = await signatures_of(uow.session, [stream], zone)
    return ExceptionalReleaseView(
        lot_id=lot_id,
        state=release.state,
        request=release.request,
        assessments=release.assessments,
        decision=release.released,
        authority_notification=_task(release, uow.clock.now()),
        signatures=signed.get(stream, []),
    )


def exceptional_release_router(regions: SiteRegions) -> APIRouter:
    router = APIRouter(tags=["exceptional release"])
    base = "/lots/{lot_id}/exceptional-release"

    @router.post(f"{base}/physician-request", status_code=201)
    async def post_request(
        uow: NewUow,
        signing: SigningGate,
        zone: SiteZone,
        lot_id: str,
        entry: SignedRequest,
        caller: Coordinator,
    ) -> ExceptionalReleaseView:
        """The treatment center's coordinator records the treating physician's request to
        release the out-of-specification lot for their patient (name, licence/ID, clinical
        justification), signed (meaning authored). 409 ``lot-not-out-of-specification``,
        ``physician-request-exists``."""
        caller.require_site(entry.treatment_center, "a physician's request")
        async with uow:
            await xr.check_request(uow, lot_id, entry.treatment_center)
            values = entry.model_dump(mode="json", exclude={"signature"})
            pending = await signing.authorize(
                uow,
                caller,
                record_id=exceptional_release_stream(lot_id),
                meaning=Meaning.AUTHORED,
                statement=f"I record Dr {entry.physician_name}'s request to release "
                f"out-of-specification lot {lot_id} for their patient.",
                values={"lot_id": lot_id, **values},
                request=entry.signature,
                roles=(Roles.TREATMENT_CENTER_COORDINATOR,),
                sites=(entry.treatment_center,),
            )
            await xr.record_request(uow, lot_id, entry, pending.signer.actor)
            await pending.record(uow)
            return await view(uow, lot_id, zone)

    @router.post(f"{base}/risk-assessment", status_code=201)
    async def post_assessment(
        uow: NewUow,
        signing: SigningGate,
        zone: SiteZone,
        lot_id: str,
        entry: SignedAssessment,
        caller: QualityUnit,
    ) -> ExceptionalReleaseView:
        """QA's (the manufacturer's) risk assessment of releasing the lot, signed (meaning
        approved); again before the decision: the newest counts. 409
        ``physician-request-required`` before the request."""
        async with uow:
            await require_lot(uow.session, caller, lot_id)
            await xr.check_assessment(uow, lot_id)
            pending = await signing.authorize(
                uow,
                caller,
                record_id=exceptional_release_stream(lot_id),
                meaning=Meaning.APPROVED,
                statement=f"I approve the risk assessment of releasing lot {lot_id} out of "
                "specification.",
                values={"lot_id": lot_id, "assessment": entry.assessment},
                request=entry.signature,
                roles=(Roles.QA_REVIEWER,),
            )
            await require_lot(uow.session, pending.signer, lot_id)
            await xr.assess(uow, lot_id, entry, pending.signer.actor)
            await pending.record(uow)
            return await view(uow, lot_id, zone)

    @router.post(f"{base}/decision", status_code=201)
    async def post_decision(
        uow: NewUow,
        signing: SigningGate,
        zone: SiteZone,
        lot_id: str,
        entry: SignedDecision,
        caller: QualityUnit,
    ) -> ExceptionalReleaseView:
        """QA releases the out-of-specification lot for its patient, signed (meaning
        released); publishes qc.lot.exceptionally-released. Needs the recovery decision
        ``exceptional-release``, the physician's request and the risk assessment (409
        ``exceptional-release-incomplete`` naming what is missing); a US site the
        expanded-access reference (422 ``expanded-access-reference-required``); not by who
        entered a result (403 ``release-by-result-author``); not a held lot (409)."""
        async with uow:
            await require_lot(uow.session, caller, lot_id)
            await xr.check_decision(uow, lot_id, entry, regions)
            pending = await signing.authorize(
                uow,
                caller,
                record_id=exceptional_release_stream(lot_id),
                meaning=Meaning.RELEASED,
                statement=f"I release out-of-specification lot {lot_id} at the treating "
                "physician's request.",
                values={"lot_id": lot_id, **entry.model_dump(mode="json", exclude={"signature"})},
                request=entry.signature,
                roles=(Roles.QA_REVIEWER,),
            )
            await require_lot(uow.session, pending.signer, lot_id)
            await xr.release_exceptionally(uow, lot_id, entry, regions, pending.signer.actor)
            await pending.record(uow)
            return await view(uow, lot_id, zone)

    @router.post(f"{base}/authority-notification", status_code=201)
    async def post_authority_notification(
        uow: NewUow,
        zone: SiteZone,
        lot_id: str,
        entry: xr.AuthorityNotificationEntry,
        caller: QualityUnit,
    ) -> ExceptionalReleaseView:
        """QA records that the competent authority was notified (its reference): the EU
        task is done. 409 ``no-authority-notification-task`` (US, or not released),
        ``authority-already-notified``."""
        async with uow:
            await require_lot(uow.session, caller, lot_id)
            await xr.record_authority_notification(uow, lot_id, entry, caller.actor)
            return await view(uow, lot_id, zone)

    @router.get("/exceptional-releases/{lot_id}")
    async def get_one(
        uow: NewUow, zone: SiteZone, lot_id: str, caller: XrReader
    ) -> ExceptionalReleaseView:
        async with uow:
            if not await sees_exceptional_release(uow.session, caller, lot_id):
                raise NotFound(
                    "exceptional-release-not-found", f"no exceptional release of {lot_id!r}"
                )
            return await view(uow, lot_id, zone)

    @router.get("/exceptional-releases")
    async def list_all(
        kit: Kit,
        caller: XrReader,
        state: ExceptionalState | None = None,
        overdue: bool = False,
        as_of: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Exceptional releases of the caller's sites (the lot's, or the treatment
        center's), oldest request first; ``overdue=true``: only the EU authority
        notifications past due and not recorded (as of ``as_of``, default now)."""
        now = as_of or kit.clock.now()
        async with kit.sessions() as session:
            return await find_exceptional_releases(
                session, caller, state=state, overdue_as_of=now if overdue else None
            )

    return router
