"""The supplied-materials HTTP API: the material master (``/material-master``), material
lots (``/material-lots``: receipt into quarantine, QA's signed release or rejection, the
genealogy of a lot), and consumption at a step of a batch (``/batches/{id}/steps/{step}/
materials``, ``GET /batches/{id}/materials``).

Not ``/materials``: that is the apheresis unit (``GET /materials/{apheresis_unit_id}``),
the starting material, which custody collects and batch never receives from a supplier."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from v2v_runtime.authz import Caller, Roles
from v2v_runtime.authz import allowed as allow
from v2v_runtime.errors import NotFound
from v2v_runtime.http_deps import NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning, SignatureRequest
from v2v_runtime.uow import UnitOfWork

from ...application.consume_material import MaterialLots, check_consuming_step
from ...application.define_material import MaterialEntry, define_material
from ...application.dispose_material_lot import reject_material_lot, release_material_lot
from ...application.material_views import (
    BatchMaterialsView,
    ConsumptionView,
    LotGenealogyView,
    MaterialDefinitionView,
    MaterialLotView,
)
from ...application.receive_material_lot import receive_material_lot
from ...application.views import Person
from ...domain import Batch, Step
from ...domain.batch_materials import MaterialUse
from ...domain.material_events import MaterialType
from ...domain.material_lot import MaterialLot, MaterialLotStatus, Receipt
from ...domain.material_master import MATERIAL_CODE_PATTERN
from ..db import material_queries as q
from .material_schemas import (
    ConsumptionBody,
    MaterialBody,
    ReceiptBody,
    RejectionBody,
    ReleaseBody,
)
from .refusals import keeping_refusals
from .routes import Manufacturing, Reader, _record
from .signing import GateSign

R = Roles
# The material master is kept by materials management and QA.
MasterKeeper = Annotated[Caller, allow(R.MATERIALS_HANDLER, R.QA_REVIEWER)]
Receiver = Annotated[Caller, allow(R.MATERIALS_HANDLER)]
# Disposition of a material lot is the quality unit's alone.
DISPOSERS = (R.QA_REVIEWER,)
QualityUnit = Annotated[Caller, allow(*DISPOSERS)]


async def _material_lot(
    uow: UnitOfWork, caller: Caller, lot_id: str, time_zone: str = "UTC"
) -> MaterialLotView:
    """404 for a lot that does not exist or is held at a site not the caller's."""
    found = await q.material_lot(uow.session, lot_id, uow.clock.now(), time_zone)
    if found is None or not caller.may_see(found.site):
        raise NotFound("material-lot-not-found", f"no material lot {lot_id!r}")
    return found


def materials_router() -> APIRouter:
    router = APIRouter(tags=["materials"])

    @router.post("/material-master", status_code=201, response_model=MaterialDefinitionView)
    async def define(
        body: MaterialBody, caller: MasterKeeper, uow: NewUow, response: Response
    ) -> MaterialDefinitionView:
        """Define a material (code, name, type, storage condition, the unit its lots are
        counted in). The same definition again: 200; another for a defined code: 409
        material-already-defined."""
        async with uow:
            created = await define_material(uow, MaterialEntry(**body.model_dump()), caller.actor)
            found = await q.material_definition(uow.session, body.material_code)
        assert found is not None
        if not created:
            response.status_code = 200
        return found

    @router.get("/material-master", response_model=list[MaterialDefinitionView])
    async def list_master(
        caller: Reader, uow: NewUow, material_type: MaterialType | None = None
    ) -> list[MaterialDefinitionView]:
        async with uow:
            return await q.material_definitions(
                uow.session, None if material_type is None else material_type.value
            )

    @router.get("/material-master/{material_code}", response_model=MaterialDefinitionView)
    async def get_definition(
        material_code: str, caller: Reader, uow: NewUow
    ) -> MaterialDefinitionView:
        async with uow:
            found = await q.material_definition(uow.session, material_code)
        if found is None:
            raise NotFound("material-not-found", f"no material {material_code!r}")
        return found

    @router.post("/material-lots", status_code=201, response_model=MaterialLotView)
    async def receive(
        body: ReceiptBody, caller: Receiver, uow: NewUow, signing: SigningGate
    ) -> MaterialLotView:
        """Receive a supplier's lot of a material of the master at the caller's site: into
        quarantine, under a new lot id (its label). 422 material-unknown, unit-incompatible
        (with the material's unit), material-lot-expired-at-receipt."""
        caller.require_site(body.site, "receiving a material lot")
        receipt = Receipt(**body.model_dump(exclude={"material_code"}))
        async with uow:
            lot = await receive_material_lot(uow, body.material_code, receipt, caller.actor)
            return await _material_lot(uow, caller, lot.lot_id, signing.settings.time_zone)

    @router.get("/material-lots", response_model=list[MaterialLotView])
    async def list_lots(
        caller: Reader,
        uow: NewUow,
        signing: SigningGate,
        material_code: Annotated[str | None, Query(pattern=MATERIAL_CODE_PATTERN)] = None,
        supplier_lot: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
        status: MaterialLotStatus | None = None,
    ) -> list[MaterialLotView]:
        """Material lots of the caller's sites, by material, supplier lot (a supplier's
        recall names it) or status as of now."""
        async with uow:
            found = await q.material_lot_list(
                uow.session,
                uow.clock.now(),
                material_code=material_code,
                supplier_lot=supplier_lot,
                status=status,
                time_zone=signing.settings.time_zone,
            )
        return [lot for lot in found if caller.may_see(lot.site)]

    @router.get("/material-lots/{lot_id}", response_model=MaterialLotView)
    async def get_lot(
        lot_id: str, caller: Reader, uow: NewUow, signing: SigningGate
    ) -> MaterialLotView:
        """The lot with its status as of now (expired from its expiry on, by the clock),
        remaining quantity and QA's signature."""
        async with uow:
            return await _material_lot(uow, caller, lot_id, signing.settings.time_zone)

    async def _gate(
        uow: UnitOfWork,
        caller: Caller,
        lot_id: str,
        signing: SigningGate,
        meaning: Meaning,
        request: SignatureRequest | None,
    ) -> GateSign:
        """QA's signature of a disposition of the lot (its stream is the signed record)."""
        found = await _material_lot(uow, caller, lot_id)
        return GateSign(
            signing,
            uow,
            caller,
            record_id=MaterialLot.stream_for(lot_id),
            meaning=meaning,
            request=request,
            roles=DISPOSERS,
            site=found.site,
        )

    @router.post("/material-lots/{lot_id}/release", response_model=MaterialLotView)
    async def release(
        lot_id: str, body: ReleaseBody, caller: QualityUnit, uow: NewUow, signing: SigningGate
    ) -> MaterialLotView:
        """QA releases the lot in quarantine, signed (meaning released; without a
        signature: 428 with the content to sign). 409 material-lot-not-in-quarantine,
        material-lot-expired; 403 release-by-receiver (who received it never releases it)."""
        async with uow:
            sign = await _gate(uow, caller, lot_id, signing, Meaning.RELEASED, body.signature)
            await release_material_lot(uow, lot_id, body.note, sign)
            await sign.record()
            return await _material_lot(uow, caller, lot_id, signing.settings.time_zone)

    @router.post("/material-lots/{lot_id}/rejection", response_model=MaterialLotView)
    async def reject(
        lot_id: str, body: RejectionBody, caller: QualityUnit, uow: NewUow, signing: SigningGate
    ) -> MaterialLotView:
        """QA rejects the lot, in quarantine or released, signed (meaning rejected; 428
        without a signature): no batch may use it. 409 material-lot-already-rejected."""
        async with uow:
            sign = await _gate(uow, caller, lot_id, signing, Meaning.REJECTED, body.signature)
            await reject_material_lot(uow, lot_id, body.reason, sign)
            await sign.record()
            return await _material_lot(uow, caller, lot_id, signing.settings.time_zone)

    @router.get("/material-lots/{lot_id}/genealogy", response_model=LotGenealogyView)
    async def genealogy(
        lot_id: str, caller: Reader, uow: NewUow, signing: SigningGate
    ) -> LotGenealogyView:
        """For a recall: every batch that used the lot (at the caller's sites), with its
        chain of identity, the steps and quantities, and its final product lot."""
        async with uow:
            lot = await _material_lot(uow, caller, lot_id, signing.settings.time_zone)
            return await q.lot_genealogy(uow.session, lot, caller.may_see)

    @router.post(
        "/batches/{batch_id}/steps/{step}/materials",
        status_code=201,
        response_model=ConsumptionView,
    )
    async def consume(
        batch_id: str,
        step: Step,
        body: ConsumptionBody,
        caller: Manufacturing,
        uow: NewUow,
    ) -> ConsumptionView:
        """Use a scanned lot at the step being performed (the batch's next step): drawn
        down by the quantity. Refused — 422 naming the reason and the field, and kept in
        the batch's record as a refused scan — unless the lot is the material asked for, at
        the batch's site, released, not expired now and has the quantity left
        (material-lot-unknown, wrong-material, material-lot-at-another-site,
        material-lot-quarantine, material-lot-rejected, material-lot-expired,
        material-lot-insufficient)."""
        use = MaterialUse(**body.model_dump())
        async with keeping_refusals(uow), uow:
            await _record(uow, caller, batch_id)
            batch = await uow.repository(Batch).get(batch_id)
            check_consuming_step(batch, step)
            used = await MaterialLots(uow).consume(batch, step.value, use, caller.actor)
        return ConsumptionView(
            batch_id=batch_id,
            coi=used.coi,
            site=used.site,
            step=used.step,
            lot_id=used.lot_id,
            material_code=used.material_code,
            quantity=used.quantity,
            unit=used.unit,
            lot_quantity=used.lot_quantity,
            lot_unit=used.lot_unit,
            used_at=used.used_at,
            used_by=Person(user_id=used.used_by.user_id, role=used.used_by.role),
        )

    @router.get("/batches/{batch_id}/materials", response_model=BatchMaterialsView)
    async def batch_materials(batch_id: str, caller: Reader, uow: NewUow) -> BatchMaterialsView:
        """Which material lots went into the batch, step by step, and the scans refused."""
        async with uow:
            found = await _record(uow, caller, batch_id)
            return await q.batch_materials(uow.session, batch_id, found.coi)

    return router
