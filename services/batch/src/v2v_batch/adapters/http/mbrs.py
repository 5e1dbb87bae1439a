"""The HTTP API of master batch records: author versions, review and approve them (QA's
signature), retire; read them. No route makes a version effective: its change control's
approval in QC does (batch acts on qc.change-control.approved, application.change_control)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.errors import NotFound
from v2v_runtime.http_deps import NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning
from v2v_runtime.signatures.store import signatures_of
from v2v_runtime.uow import UnitOfWork

from ...application.approve_mbr import approve_mbr
from ...application.execution_record import mbr_version_view
from ...application.execution_views import MbrVersionSummary, MbrVersionView
from ...application.mbr_authoring import (
    draft_mbr,
    retire_mbr,
    return_mbr,
    revise_mbr,
    submit_mbr,
)
from ...domain.mbr import MasterBatchRecord, mbr_stream
from ...domain.product import PRODUCT_CODE_PATTERN
from ..db import mbr_queries
from .mbr_schemas import Empty, MbrContentBody, MbrDraftBody, ReasonBody, Signed
from .routes import Reader
from .signing import GateSign

R = Roles
# Who writes the recipe (the process owner on the floor), and the quality unit that
# reviews, approves (signed) and retires it.
Author = Annotated[Caller, allowed(R.MANUFACTURING_SUPERVISOR)]
QualityUnit = Annotated[Caller, allowed(R.QA_REVIEWER)]
APPROVERS = (R.QA_REVIEWER,)
VERSION = "/mbrs/{product_code}/{site}/versions/{version}"


async def _view(
    uow: UnitOfWork, caller: Caller, product_code: str, site: str, version: int, time_zone: str
) -> MbrVersionView:
    """404 for an MBR that does not exist or is of a site not the caller's."""
    mbr = await uow.repository(MasterBatchRecord).find(mbr_stream(product_code, site))
    if mbr is None or version not in mbr.versions or not caller.may_see(site):
        raise NotFound(
            "mbr-version-not-found", f"no MBR version {product_code} v{version} at {site}"
        )
    signed = await signatures_of(uow.session, [mbr.id], time_zone)
    by_id = {s.signature_id: s for s in signed.get(mbr.id, [])}
    return mbr_version_view(mbr, mbr.versions[version], by_id)


def build_mbr_router() -> APIRouter:
    router = APIRouter(tags=["master batch records"])

    @router.post("/mbrs", status_code=201, response_model=MbrVersionView)
    async def draft(body: MbrDraftBody, caller: Author, uow: NewUow) -> MbrVersionView:
        """A new version of the product's MBR at the site, in draft (the next number; 409
        mbr-version-open while another is being authored). Overlapping limits, a target
        outside them, limits on a non-number, a critical step without verification: 422
        naming the field."""
        caller.require_site(body.site, "authoring a master batch record")
        async with uow:
            v = await draft_mbr(uow, body.product_code, body.site, body.content, caller.actor)
            return await _view(uow, caller, body.product_code, body.site, v.version, "UTC")

    @router.get("/mbrs", response_model=list[MbrVersionSummary])
    async def list_(
        caller: Reader,
        uow: NewUow,
        product_code: Annotated[str | None, Query(pattern=PRODUCT_CODE_PATTERN)] = None,
        site: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
        status: Annotated[str | None, Query(max_length=16)] = None,
    ) -> list[MbrVersionSummary]:
        async with uow:
            found = await mbr_queries.mbr_versions(uow.session, product_code, site, status)
        return [v for v in found if caller.may_see(v.site)]

    @router.get(VERSION, response_model=MbrVersionView)
    async def get(
        product_code: str,
        site: str,
        version: int,
        caller: Reader,
        uow: NewUow,
        signing: SigningGate,
    ) -> MbrVersionView:
        """One version: its content, status, QA's approval signature and the change control
        approved in QC naming it (`change_control`; `change_control_id` once effective)."""
        async with uow:
            zone = signing.settings.time_zone
            return await _view(uow, caller, product_code, site, version, zone)

    @router.post(VERSION + "/revision", response_model=MbrVersionView)
    async def revise(
        product_code: str,
        site: str,
        version: int,
        body: MbrContentBody,
        caller: Author,
        uow: NewUow,
    ) -> MbrVersionView:
        """Replace the content of a version in draft."""
        caller.require_site(site, "authoring a master batch record")
        async with uow:
            await revise_mbr(uow, product_code, site, version, body.content, caller.actor)
            return await _view(uow, caller, product_code, site, version, "UTC")

    @router.post(VERSION + "/submission", response_model=MbrVersionView)
    async def submit(
        product_code: str, site: str, version: int, _: Empty, caller: Author, uow: NewUow
    ) -> MbrVersionView:
        """The draft goes to the quality unit's review."""
        caller.require_site(site, "submitting a master batch record")
        async with uow:
            await submit_mbr(uow, product_code, site, version, caller.actor)
            return await _view(uow, caller, product_code, site, version, "UTC")

    @router.post(VERSION + "/return", response_model=MbrVersionView)
    async def send_back(
        product_code: str,
        site: str,
        version: int,
        body: ReasonBody,
        caller: QualityUnit,
        uow: NewUow,
    ) -> MbrVersionView:
        """QA sends a version in review back to draft, saying why."""
        caller.require_site(site, "reviewing a master batch record")
        async with uow:
            await return_mbr(uow, product_code, site, version, body.reason, caller.actor)
            return await _view(uow, caller, product_code, site, version, "UTC")

    @router.post(VERSION + "/approval", response_model=MbrVersionView)
    async def approve(
        product_code: str,
        site: str,
        version: int,
        body: Signed,
        caller: QualityUnit,
        uow: NewUow,
        signing: SigningGate,
    ) -> MbrVersionView:
        """QA approves a version in review, signed (meaning approved; 428 with the content
        to sign first); never one of its authors (403 approval-by-author)."""
        caller.require_site(site, "approving a master batch record")
        async with uow:
            sign = GateSign(
                signing,
                uow,
                caller,
                record_id=mbr_stream(product_code, site),
                meaning=Meaning.APPROVED,
                request=body.signature,
                roles=APPROVERS,
                site=site,
            )
            await approve_mbr(uow, product_code, site, version, sign)
            await sign.record()
            zone = signing.settings.time_zone
            return await _view(uow, caller, product_code, site, version, zone)

    @router.post(VERSION + "/retirement", response_model=MbrVersionView)
    async def retire(
        product_code: str,
        site: str,
        version: int,
        body: ReasonBody,
        caller: QualityUnit,
        uow: NewUow,
    ) -> MbrVersionView:
        """Retire an approved or effective version, saying why. With none effective, batches
        of the product at the site are refused until another version is."""
        caller.require_site(site, "retiring a master batch record")
        async with uow:
            await retire_mbr(uow, product_code, site, version, body.reason, caller.actor)
            return await _view(uow, caller, product_code, site, version, "UTC")

    return router
