"""HTTP: the equipment register (instruments, calibration, maintenance, service status,
their usage log) and using an instrument at a step of an open batch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.errors import NotFound
from v2v_runtime.http_deps import NewUow
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ...application.equipment_service import relocate, remove_from_service, return_to_service
from ...application.equipment_use import use_equipment
from ...application.record_calibration import CalibrationEntry, record_calibration
from ...application.record_maintenance import MaintenanceEntry, record_maintenance
from ...application.register_equipment import EquipmentEntry, register_equipment
from ...application.register_views import EquipmentRecord, EquipmentView, UseView
from ...application.views import Person
from ...domain.equipment import EQUIPMENT_TYPE_PATTERN
from ...domain.equipment_events import Schedule
from ..db import equipment_queries as queries
from .refusals import keeping_refusals
from .register_schemas import (
    CalibrationBody,
    EquipmentBody,
    LocationBody,
    MaintenanceBody,
    ReasonBody,
    UseBody,
)
from .routes import Manufacturing, Reader, _record

R = Roles
# The supervisor keeps the register: instruments, calibrations, maintenance.
Keeper = Annotated[Caller, allowed(R.MANUFACTURING_SUPERVISOR)]
# Anyone operating an instrument takes a faulty one out of service; a supervisor or the
# quality unit returns it.
Tagger = Annotated[
    Caller, allowed(R.CELL_THERAPY_SPECIALIST, R.MANUFACTURING_SUPERVISOR, R.QA_REVIEWER)
]
Returner = Annotated[Caller, allowed(R.MANUFACTURING_SUPERVISOR, R.QA_REVIEWER)]
STEP_PATTERN = r"^[a-z][a-z0-9-]{0,63}$"


async def _visible(uow: UnitOfWork, caller: Caller, equipment_id: str) -> EquipmentView:
    """404 for an instrument not in the register or of a site not the caller's."""
    found = await queries.equipment_view(uow.session, equipment_id, uow.clock.now())
    if found is None or not caller.may_see(found.site):
        raise NotFound("equipment-not-found", f"no equipment {equipment_id!r}")
    return found


async def _record_of(uow: UnitOfWork, caller: Caller, equipment_id: str) -> EquipmentRecord:
    shown = await _visible(uow, caller, equipment_id)
    return EquipmentRecord(
        **shown.model_dump(), history=await queries.history(uow.session, equipment_id)
    )


def equipment_router(reported_times: ReportedTimeWindow) -> APIRouter:
    router = APIRouter(tags=["equipment"])

    @router.post("/equipment", status_code=201, response_model=EquipmentRecord)
    async def register(body: EquipmentBody, caller: Keeper, uow: NewUow) -> EquipmentRecord:
        """Put an instrument in the register (409 equipment-already-registered)."""
        caller.require_site(body.site, "registering equipment")
        entry = EquipmentEntry(
            **body.model_dump(exclude={"calibration", "maintenance"}),
            calibration=Schedule(**body.calibration.model_dump()),
            maintenance=None
            if body.maintenance is None
            else Schedule(**body.maintenance.model_dump()),
        )
        async with uow:
            await register_equipment(uow, entry, reported_times, caller.actor)
            return await _record_of(uow, caller, body.equipment_id)

    @router.get("/equipment", response_model=list[EquipmentView])
    async def list_(
        caller: Reader,
        uow: NewUow,
        site: str | None = None,
        equipment_type: Annotated[str | None, Query(pattern=EQUIPMENT_TYPE_PATTERN)] = None,
    ) -> list[EquipmentView]:
        """The register (of the caller's sites), each with its status now."""
        async with uow:
            found = await queries.equipment_list(
                uow.session, uow.clock.now(), site=site, equipment_type=equipment_type
            )
        return [e for e in found if caller.may_see(e.site)]

    @router.get("/equipment/{equipment_id}", response_model=EquipmentRecord)
    async def get(equipment_id: str, caller: Reader, uow: NewUow) -> EquipmentRecord:
        """An instrument: its status now, schedules, and every act recorded on it."""
        async with uow:
            return await _record_of(uow, caller, equipment_id)

    @router.get("/equipment/{equipment_id}/usage", response_model=list[UseView])
    async def usage(equipment_id: str, caller: Reader, uow: NewUow) -> list[UseView]:
        """The usage log: which batches used it when, and every use refused (and why)."""
        async with uow:
            await _visible(uow, caller, equipment_id)
            return await queries.usage(uow.session, equipment_id=equipment_id)

    @router.post(
        "/equipment/{equipment_id}/calibrations", status_code=201, response_model=EquipmentRecord
    )
    async def calibrate(
        equipment_id: str, body: CalibrationBody, caller: Keeper, uow: NewUow
    ) -> EquipmentRecord:
        """A calibration as performed. Found out of tolerance, QC opens one deviation
        listing every batch used since the instrument was last left in tolerance; left out
        of tolerance, it is out of service until a calibration leaves it in."""
        async with uow:
            await _visible(uow, caller, equipment_id)
            entry = CalibrationEntry(**body.model_dump())
            await record_calibration(uow, equipment_id, entry, reported_times, caller.actor)
            return await _record_of(uow, caller, equipment_id)

    @router.post(
        "/equipment/{equipment_id}/maintenance", status_code=201, response_model=EquipmentRecord
    )
    async def maintain(
        equipment_id: str, body: MaintenanceBody, caller: Keeper, uow: NewUow
    ) -> EquipmentRecord:
        async with uow:
            await _visible(uow, caller, equipment_id)
            entry = MaintenanceEntry(**body.model_dump())
            await record_maintenance(uow, equipment_id, entry, reported_times, caller.actor)
            return await _record_of(uow, caller, equipment_id)

    @router.post("/equipment/{equipment_id}/out-of-service", response_model=EquipmentRecord)
    async def take_out(
        equipment_id: str, body: ReasonBody, caller: Tagger, uow: NewUow
    ) -> EquipmentRecord:
        """Take it out of service (409 already-out-of-service)."""
        async with uow:
            await _visible(uow, caller, equipment_id)
            await remove_from_service(uow, equipment_id, body.reason, caller.actor)
            return await _record_of(uow, caller, equipment_id)

    @router.post("/equipment/{equipment_id}/return-to-service", response_model=EquipmentRecord)
    async def put_back(
        equipment_id: str, body: ReasonBody, caller: Returner, uow: NewUow
    ) -> EquipmentRecord:
        """Return it to service (409 not-out-of-service; 409 calibration-out-of-tolerance
        while its last calibration left it out of tolerance)."""
        async with uow:
            await _visible(uow, caller, equipment_id)
            await return_to_service(uow, equipment_id, body.reason, caller.actor)
            return await _record_of(uow, caller, equipment_id)

    @router.post("/equipment/{equipment_id}/location", response_model=EquipmentRecord)
    async def move(
        equipment_id: str, body: LocationBody, caller: Keeper, uow: NewUow
    ) -> EquipmentRecord:
        async with uow:
            await _visible(uow, caller, equipment_id)
            await relocate(uow, equipment_id, body.location, caller.actor)
            return await _record_of(uow, caller, equipment_id)

    @router.post(
        "/batches/{batch_id}/steps/{step}/equipment", status_code=201, response_model=UseView
    )
    async def use(
        batch_id: str,
        step: Annotated[str, Path(pattern=STEP_PATTERN)],
        body: UseBody,
        caller: Manufacturing,
        uow: NewUow,
    ) -> UseView:
        """Use an instrument at a step of an open batch: logged in its usage log. Refused
        (422, recorded in the usage log) unless it is of the type asked, at the batch's
        site and in service at the time of use — 422 equipment-out-of-service,
        calibration-overdue, maintenance-overdue, equipment-type-mismatch,
        equipment-at-another-site; 403 not-qualified (recorded too) when the instrument
        asks for an operator qualification the caller does not hold then. 422
        equipment-unknown for an instrument not in the register."""
        async with keeping_refusals(uow), uow:
            await _record(uow, caller, batch_id)
            at = body.used_at or uow.clock.now()
            used = await use_equipment(
                uow,
                batch_id,
                step,
                body.equipment_id,
                body.equipment_type,
                at,
                reported_times,
                caller.actor,
            )
        return UseView(
            equipment_id=body.equipment_id,
            batch_id=used.batch_id,
            coi=used.coi,
            step=used.step,
            used_at=used.used_at,
            used_by=Person(user_id=used.used_by.user_id, role=used.used_by.role),
            recorded_at=used.recorded_at,
            late=used.late,
            refusal=None,
        )

    @router.get("/batches/{batch_id}/equipment", response_model=list[UseView])
    async def batch_usage(batch_id: str, caller: Reader, uow: NewUow) -> list[UseView]:
        """The instruments used in a batch (and uses refused), in the order of use."""
        async with uow:
            await _record(uow, caller, batch_id)
            return await queries.usage(uow.session, batch_id=batch_id)

    return router
