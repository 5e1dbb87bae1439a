"""HTTP: release panels, test results (signed by the analyst), their QC review (signed by
the reviewer), product specifications."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.authz import Caller, Roles
from v2v_runtime.errors import DomainError, NotFound
from v2v_runtime.http_deps import Kit, NewUow, Reasons, SigningGate
from v2v_runtime.signatures.model import Meaning, SignatureRequest

from ...application.change_control_ports import ChangeControls
from ...application.record_result import ResultEntry, record_result
from ...application.review_panel import ReviewEntry, review_panel
from ...application.views import PanelView, RecordedView
from ...domain.spec import Spec, SpecCatalog
from ..db import queries
from .access import Analyst, QcReviewer, Reader, SpecReader, sees_lot
from .signing import SiteZone, lot_sites, shown


class SignedResult(ResultEntry):
    signature: SignatureRequest | None = None


class SignedReview(ReviewEntry):
    signature: SignatureRequest | None = None


def result_statement(panel_id: str, entry: ResultEntry) -> str:
    value = f"{entry.value}{'' if entry.unit is None else ' ' + entry.unit}"
    if entry.correction_reason is None and entry.reason_code is None:
        return f"I performed test {entry.test_code} of QC panel {panel_id}; its result: {value}."
    return (
        f"I correct the result of test {entry.test_code} of QC panel {panel_id} to {value} "
        f"({entry.reason_code}: {entry.correction_reason})."
    )


def result_values(panel_id: str, entry: ResultEntry) -> dict[str, Any]:
    """What the analyst signs: the entry, its value as entered text (any number has a
    canonical form then; the domain judges it after)."""
    values = entry.model_dump(mode="json", exclude={"signature"})
    return {"panel_id": panel_id, **values, "value": str(entry.value)}


def reviewed_values(panel: PanelView, entry: ReviewEntry) -> dict[str, Any]:
    """What the reviewer is shown and signs: the outcome and every result as it stands."""
    return {
        "panel_id": panel.panel_id,
        "lot_id": panel.lot_id,
        "outcome": panel.status.value,
        "results": {
            t.code: {
                "value": t.result.value,
                "unit": t.result.unit,
                "within_limit": t.result.within_limit,
                "revision": t.result.revision,
            }
            for t in panel.tests
            if t.result is not None
        },
        **entry.model_dump(mode="json", exclude={"signature"}),
    }


async def visible(
    session: AsyncSession, caller: Caller, panel_id: str, zone: str = "UTC"
) -> PanelView:
    """The panel, or 404 (also for another site's: its existence is not disclosed)."""
    panel = await queries.panel_view(session, panel_id, zone)
    if panel is None or not await sees_lot(session, caller, panel.lot_id):
        raise NotFound("panel-not-found", f"no panel {panel_id!r}")
    return panel


def panels_router(specs: SpecCatalog) -> APIRouter:
    router = APIRouter(tags=["panels"])

    @router.get("/panels")
    async def list_panels(
        kit: Kit, caller: Reader, zone: SiteZone, coi: str | None = None, lot_id: str | None = None
    ) -> list[PanelView]:
        """Panels of a chain of identity and/or of a lot."""
        if coi is None and lot_id is None:
            raise DomainError("filter-required", "give coi and/or lot_id")
        async with kit.sessions() as session:
            found = await queries.panel_views(session, coi=coi, lot_id=lot_id, time_zone=zone)
            return [p for p in found if await sees_lot(session, caller, p.lot_id)]

    @router.get("/panels/{panel_id}")
    async def get_panel(kit: Kit, caller: Reader, zone: SiteZone, panel_id: str) -> PanelView:
        async with kit.sessions() as session:
            return await visible(session, caller, panel_id, zone)

    @router.post("/panels/{panel_id}/results", status_code=201)
    async def post_result(
        uow: NewUow,
        signing: SigningGate,
        zone: SiteZone,
        panel_id: str,
        entry: SignedResult,
        caller: Analyst,
        reasons: Reasons,
    ) -> RecordedView:
        """Record a result (or correct one with a reason_code and a correction_reason), signed
        by the analyst (meaning performed; without a signature: 428 with the content to sign).
        Recording car_pos also computes the dose; the last missing result evaluates the
        panel. After the evaluation a correction must leave it as it stands, and makes the
        QC review stale."""
        async with uow:
            panel = await visible(uow.session, caller, panel_id)
            pending = await signing.authorize(
                uow,
                caller,
                record_id=panel_id,
                meaning=Meaning.PERFORMED,
                statement=result_statement(panel_id, entry),
                values=result_values(panel_id, entry),
                request=entry.signature,
                roles=(Roles.QC_ANALYST,),
                sites=await lot_sites(uow.session, panel.lot_id),
            )
            recorded = await record_result(uow, panel_id, entry, pending.signer.actor, reasons)
            signature = await shown(uow.session, await pending.record(uow), zone)
            view = await queries.panel_view(uow.session, panel_id, zone)
        assert view is not None
        by_code = {t.code: t.result for t in view.tests if t.result is not None}
        return RecordedView(
            **by_code[entry.test_code].model_dump(),
            panel_id=panel_id,
            test_code=entry.test_code,
            computed={r.test_code: by_code[r.test_code] for r in recorded.results[1:]},
            panel_status=view.status,
            pending=view.pending,
            deviation_id=view.deviation_id,
            review_status=view.review_status,
            signature=signature,
        )

    @router.post("/panels/{panel_id}/review", status_code=201)
    async def post_review(
        uow: NewUow,
        signing: SigningGate,
        zone: SiteZone,
        panel_id: str,
        entry: SignedReview,
        caller: QcReviewer,
    ) -> PanelView:
        """A QC reviewer (role qc-reviewer) reviews the evaluated panel's results, signed
        (meaning reviewed): someone who entered none of them (403 review-by-analyst); 409
        before the evaluation (but with only tests the specification allows to be pending at
        release outstanding: a conditional release's), or while the last review is still
        current. QA's release needs a current review. A correction
        afterwards makes the review stale (the panel's review_status) until a new one."""
        async with uow:
            panel = await visible(uow.session, caller, panel_id)
            pending = await signing.authorize(
                uow,
                caller,
                record_id=panel_id,
                meaning=Meaning.REVIEWED,
                statement=(
                    f"I reviewed the results of QC panel {panel_id} of lot {panel.lot_id}: "
                    f"{panel.status.value}."
                ),
                values=reviewed_values(panel, entry),
                request=entry.signature,
                roles=(Roles.QC_REVIEWER,),
                sites=await lot_sites(uow.session, panel.lot_id),
            )
            await review_panel(uow, panel_id, entry, pending.signer.actor)
            await pending.record(uow)
            view = await queries.panel_view(uow.session, panel_id, zone)
        assert view is not None
        return view

    @router.get("/specs/{product_code}")
    async def get_spec(uow: NewUow, product_code: str, caller: SpecReader) -> Spec:
        """The current specification of a product (the default one if it has none): its
        newest version in effect (the first configured, or a later one change control made
        effective)."""
        async with uow:
            return specs.current(product_code, await uow.port(ChangeControls).effective_specs())

    return router
