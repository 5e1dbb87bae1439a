"""HTTP: release panels, test results, product specifications."""

from __future__ import annotations

from fastapi import APIRouter

from v2v_runtime.errors import DomainError, NotFound
from v2v_runtime.http_deps import Kit, NewUow
from v2v_runtime.identity import CurrentActor

from ...application.record_result import ResultEntry, record_result
from ...application.views import PanelView, RecordedView
from ...domain.spec import Spec, SpecCatalog
from ..db import queries


def panels_router(specs: SpecCatalog) -> APIRouter:
    router = APIRouter(tags=["panels"])

    @router.get("/panels")
    async def list_panels(
        kit: Kit, coi: str | None = None, lot_id: str | None = None
    ) -> list[PanelView]:
        """Panels of a chain of identity and/or of a lot."""
        if coi is None and lot_id is None:
            raise DomainError("filter-required", "give coi and/or lot_id")
        async with kit.sessions() as session:
            return await queries.panel_views(session, coi=coi, lot_id=lot_id)

    @router.get("/panels/{panel_id}")
    async def get_panel(kit: Kit, panel_id: str) -> PanelView:
        async with kit.sessions() as session:
            view = await queries.panel_view(session, panel_id)
        if view is None:
            raise NotFound("panel-not-found", f"no panel {panel_id!r}")
        return view

    @router.post("/panels/{panel_id}/results", status_code=201)
    async def post_result(
        uow: NewUow, panel_id: str, entry: ResultEntry, actor: CurrentActor
    ) -> RecordedView:
        """Record a result (or correct one with a correction_reason). Recording car_pos
        also computes the dose; the last missing result evaluates the panel."""
        async with uow:
            recorded = await record_result(uow, panel_id, entry, actor)
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
    async def get_spec(product_code: str) -> Spec:
        """The current specification of a product (the default one if it has none)."""
        return specs.current(product_code)

    return router
