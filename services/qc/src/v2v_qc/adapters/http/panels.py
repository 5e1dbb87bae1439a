"""HTTP: release panels, test results, product specifications."""

from __future__ import annotations

from fastapi import APIRouter

from v2v_runtime.errors import DomainError, NotFound
from v2v_runtime.http_deps import Kit, NewUow, Reasons

from ...application.record_result import ResultEntry, record_result
from ...application.views import PanelView, RecordedView
from ...domain.spec import Spec, SpecCatalog
from ..db import queries
from .access import Analyst, Reader, SpecReader, sees_lot


def panels_router(specs: SpecCatalog) -> APIRouter:
    router = APIRouter(tags=["panels"])

    @router.get("/panels")
    async def list_panels(
        kit: Kit, caller: Reader, coi: str | None = None, lot_id: str | None = None
    ) -> list[PanelView]:
        """Panels of a chain of identity and/or of a lot."""
        if coi is None and lot_id is None:
            raise DomainError("filter-required", "give coi and/or lot_id")
        async with kit.sessions() as session:
            found = await queries.panel_views(session, coi=coi, lot_id=lot_id)
            return [p for p in found if await sees_lot(session, caller, p.lot_id)]

    @router.get("/panels/{panel_id}")
    async def get_panel(kit: Kit, caller: Reader, panel_id: str) -> PanelView:
        async with kit.sessions() as session:
            view = await queries.panel_view(session, panel_id)
            if view is None or not await sees_lot(session, caller, view.lot_id):
                raise NotFound("panel-not-found", f"no panel {panel_id!r}")
        return view

    @router.post("/panels/{panel_id}/results", status_code=201)
    async def post_result(
        uow: NewUow, panel_id: str, entry: ResultEntry, caller: Analyst, reasons: Reasons
    ) -> RecordedView:
        """Record a result (or correct one with a reason_code and a correction_reason).
        Recording car_pos also computes the dose; the last missing result evaluates the
        panel."""
        async with uow:
            panel = await queries.panel_view(uow.session, panel_id)
            if panel is None or not await sees_lot(uow.session, caller, panel.lot_id):
                raise NotFound("panel-not-found", f"no panel {panel_id!r}")
            recorded = await record_result(uow, panel_id, entry, caller.actor, reasons)
            view = await queries.panel_view(uow.session, panel_id)
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
        )

    @router.get("/specs/{product_code}")
    async def get_spec(product_code: str, caller: SpecReader) -> Spec:
        """The current specification of a product (the default one if it has none)."""
        return specs.current(product_code)

    return router
