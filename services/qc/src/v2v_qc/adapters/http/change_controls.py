"""HTTP: change control — raise a change to an MBR, a specification or an SOP version,
assess its impact, and QA's signed decision (approval, meaning approved; rejection, meaning
rejected). An MBR's change control belongs to the MBR's site; a specification's or an
SOP's to every site."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query

from v2v_events.bounds import INT32_MAX
from v2v_events.contracts.change_control import ChangeSubject
from v2v_events.contracts.common import Actor
from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.errors import NotFound
from v2v_runtime.http_deps import NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning, SignatureRequest
from v2v_runtime.signatures.store import signatures_of
from v2v_runtime.uow import UnitOfWork

from ...application.change_control_views import ChangeControlView, change_control_view
from ...application.change_controls import (
    ApprovalEntry,
    ChangeRequestEntry,
    RejectionEntry,
    approve_change,
    assess_change,
    load,
    raise_change,
    reject_change,
)
from ...domain.change_control import ChangeControl
from ...domain.change_control_events import ChangeControlState, ImpactAssessment
from ...domain.spec import SpecCatalog
from ..db.change_controls import change_control_ids
from .access import QUALITY_READERS, QualityUnit
from .signing import SiteZone

R = Roles
# Who raises and assesses a change: the process owner, QC's reviewer, the quality unit.
ChangeOwner = Annotated[Caller, allowed(R.MANUFACTURING_SUPERVISOR, R.QC_REVIEWER, R.QA_REVIEWER)]
ChangeReader = Annotated[Caller, allowed(*QUALITY_READERS)]


class SignedApproval(ApprovalEntry):
    signature: SignatureRequest | None = None


class SignedRejection(RejectionEntry):
    signature: SignatureRequest | None = None


def _sees(caller: Caller, change: ChangeControl) -> bool:
    site = change.info.site
    return site is None or caller.may_see(site)


async def _visible(uow: UnitOfWork, caller: Caller, change_control_id: str) -> ChangeControl:
    """The change control, or 404 (also for an MBR's of another site)."""
    found = await uow.repository(ChangeControl).find(change_control_id)
    if found is None or not _sees(caller, found):
        raise NotFound("change-control-not-found", f"no change control {change_control_id!r}")
    return found


async def _view(uow: UnitOfWork, change_control_id: str, zone: str) -> ChangeControlView:
    change = await load(uow, change_control_id)
    signed = await signatures_of(uow.session, [change.id], zone)
    return change_control_view(change, signed.get(change.id, []))


def change_control_router(specs: SpecCatalog) -> APIRouter:
    router = APIRouter(tags=["change control"])

    @router.post("/change-controls", status_code=201)
    async def post_change_control(
        uow: NewUow, entry: ChangeRequestEntry, caller: ChangeOwner, zone: SiteZone
    ) -> ChangeControlView:
        """Raise a change control for a new version of an MBR (`subject_id`: the product
        code, with its `site`), a specification (its spec id) or an SOP (its document id):
        what changes and why. One at a time per document version (409
        change-control-exists; a rejected one aside)."""
        if entry.site is not None:
            caller.require_site(entry.site, "raising a change control of an MBR")
        async with uow:
            change = await raise_change(uow, entry, caller.actor, specs)
            return await _view(uow, change.id, zone)

    @router.get("/change-controls")
    async def list_change_controls(
        uow: NewUow,
        caller: ChangeReader,
        zone: SiteZone,
        subject_kind: ChangeSubject | None = None,
        subject_id: Annotated[str | None, Query(max_length=64)] = None,
        site: Annotated[str | None, Query(max_length=128)] = None,
        version: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
        state: ChangeControlState | None = None,
    ) -> list[ChangeControlView]:
        """Change controls matching every filter given (an MBR's: of the caller's sites)."""
        async with uow:
            ids = await change_control_ids(
                uow.session,
                subject_kind=subject_kind,
                subject_id=subject_id,
                site=site,
                version=version,
                state=state,
            )
            repo = uow.repository(ChangeControl)
            shown = [c for c in [await repo.get(i) for i in ids] if _sees(caller, c)]
            signed = await signatures_of(uow.session, [c.id for c in shown], zone)
            return [change_control_view(c, signed.get(c.id, [])) for c in shown]

    @router.get("/change-controls/{change_control_id}")
    async def get_change_control(
        uow: NewUow, caller: ChangeReader, zone: SiteZone, change_control_id: str
    ) -> ChangeControlView:
        async with uow:
            await _visible(uow, caller, change_control_id)
            return await _view(uow, change_control_id, zone)

    @router.post("/change-controls/{change_control_id}/impact-assessment")
    async def post_impact_assessment(
        uow: NewUow,
        caller: ChangeOwner,
        zone: SiteZone,
        change_control_id: str,
        entry: ImpactAssessment,
    ) -> ChangeControlView:
        """The impact assessment: affected products, batches and documents, the risk and
        its level, the training and validation needed. Again while undecided (the earlier
        one is kept); 409 change-control-decided after QA's decision."""
        async with uow:
            await _visible(uow, caller, change_control_id)
            await assess_change(uow, change_control_id, entry, caller.actor)
            return await _view(uow, change_control_id, zone)

    async def decide(
        uow: UnitOfWork,
        signing: SigningGate,
        caller: Caller,
        change_control_id: str,
        entry: SignedApproval | SignedRejection,
        zone: str,
        *,
        approving: bool,
        act: Callable[[Actor], Awaitable[object]],
    ) -> ChangeControlView:
        async with uow:
            change = await _visible(uow, caller, change_control_id)
            change.check_decision(approving=approving)  # refused before anyone signs
            i = change.info
            verb = "approve" if approving else "reject"
            pending = await signing.authorize(
                uow,
                caller,
                record_id=change.id,
                meaning=Meaning.APPROVED if approving else Meaning.REJECTED,
                statement=f"I {verb} change control {change.id}: {change.subject}"
                + (" becomes effective." if approving else " does not take effect."),
                values={
                    "change_control_id": change.id,
                    "subject_kind": i.subject_kind.value,
                    "subject_id": i.subject_id,
                    "site": i.site,
                    "version": i.version,
                    "risk_level": None
                    if change.assessment is None
                    else change.assessment.risk_level.value,
                    **entry.model_dump(mode="json", exclude={"signature"}),
                },
                request=entry.signature,
                roles=(R.QA_REVIEWER,),
                sites=() if i.site is None else (i.site,),
            )
            await act(pending.signer.actor)
            await pending.record(uow)
            return await _view(uow, change_control_id, zone)

    @router.post("/change-controls/{change_control_id}/approval")
    async def post_approval(
        uow: NewUow,
        signing: SigningGate,
        caller: QualityUnit,
        zone: SiteZone,
        change_control_id: str,
        entry: SignedApproval,
    ) -> ChangeControlView:
        """QA (qa-reviewer) approves an assessed change control, signed (meaning approved;
        428 with the content to sign first); never the person who raised it (403
        approval-by-author). Published as qc.change-control.approved: the service owning
        the document makes the version effective (QC itself for a specification)."""
        return await decide(
            uow,
            signing,
            caller,
            change_control_id,
            entry,
            zone,
            approving=True,
            act=lambda who: approve_change(uow, change_control_id, entry, who, specs),
        )

    @router.post("/change-controls/{change_control_id}/rejection")
    async def post_rejection(
        uow: NewUow,
        signing: SigningGate,
        caller: QualityUnit,
        zone: SiteZone,
        change_control_id: str,
        entry: SignedRejection,
    ) -> ChangeControlView:
        """QA (qa-reviewer) rejects an undecided change control, signed (meaning rejected),
        saying why; never the person who raised it (403 rejection-by-author)."""
        return await decide(
            uow,
            signing,
            caller,
            change_control_id,
            entry,
            zone,
            approving=False,
            act=lambda who: reject_change(uow, change_control_id, entry, who),
        )

    return router
