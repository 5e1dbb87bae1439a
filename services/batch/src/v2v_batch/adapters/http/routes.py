"""The batch HTTP API: batches, their steps and lot, lots, apheresis material."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from v2v_events.contracts.batch import OpenBatch
from v2v_events.ids import COI_PATTERN
from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.errors import DomainError, NotFound
from v2v_runtime.http_deps import NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ...application.execution_views import ExecutedStep
from ...application.manufacturing_failure import record_manufacturing_failure
from ...application.open_batch import open_batch
from ...application.produce_lot import LotEntry, produce_lot
from ...application.record_step import record_step
from ...application.step_gates import StepGates
from ...application.verify_mbr_step import verify_mbr_step
from ...application.verify_step import verify_step
from ...application.views import BatchRecord, BatchSummary, LotView, MaterialView, StepView
from ...domain import ProductCatalog, Step, StepValues
from ..db import queries
from .execution_reads import batch_site, execution_of
from .schemas import FailureBody, LotBody, OpenBatchBody, SignedStepBody, VerificationBody
from .signing import PERFORMERS, VERIFIERS, GateSign

R = Roles
Manufacturing = Annotated[Caller, allowed(R.CELL_THERAPY_SPECIALIST, R.MANUFACTURING_SUPERVISOR)]
# Disposition is QA's (a later change makes it QA's alone); a supervisor records a failure.
# manufacturing's finding; disposing of the lot is QA's, in QC
FailureRecorder = Annotated[Caller, allowed(R.MANUFACTURING_SUPERVISOR)]
Reader = Annotated[
    Caller,
    allowed(
        R.CELL_THERAPY_SPECIALIST,
        R.MANUFACTURING_SUPERVISOR,
        R.MATERIALS_HANDLER,
        R.QC_ANALYST,
        R.QC_REVIEWER,
        R.QA_REVIEWER,
        R.QUALIFIED_PERSON,
        R.AUDITOR,
    ),
]


async def _record(
    uow: UnitOfWork, caller: Caller, batch_id: str, time_zone: str = "UTC"
) -> BatchRecord:
    """404 for a batch that does not exist or was made at a site not the caller's."""
    found = await queries.batch_record(uow.session, batch_id, time_zone)
    if found is None or not caller.may_see(found.manufacturing_site):
        raise NotFound("batch-not-found", f"no batch {batch_id!r}")
    return found


async def _with_execution(
    uow: UnitOfWork, caller: Caller, record: BatchRecord, time_zone: str = "UTC"
) -> BatchRecord:
    """The record of a batch executed from its MBR with that execution."""
    if not (await batch_site(uow, caller, record.batch_id))[1]:
        return record
    execution = await execution_of(uow, record.batch_id, time_zone)
    return record.model_copy(update={"execution": execution})


async def _lot(uow: UnitOfWork, caller: Caller, lot_id: str) -> LotView:
    found = await queries.lot(uow.session, lot_id)
    if found is None or not caller.may_see(found.manufacturing_site):
        raise NotFound("lot-not-found", f"no lot {lot_id!r}")
    return found


def process_step(name: str) -> Step:
    """One of the fixed process steps (422 for another name)."""
    try:
        return Step(name)
    except ValueError:
        raise DomainError(
            "step-unknown",
            f"{name!r} is not a process step ({', '.join(s.value for s in Step)})",
            field="step",
        ) from None


def build_router(
    catalog: ProductCatalog, reported_times: ReportedTimeWindow, gates: StepGates
) -> APIRouter:
    router = APIRouter(tags=["batch"])

    @router.post("/batches", status_code=201, response_model=BatchRecord)
    async def open_(
        body: OpenBatchBody, caller: Manufacturing, uow: NewUow, response: Response
    ) -> BatchRecord:
        """Open a batch from an apheresis unit custody has collected, for its CoI and DIN
        (idempotent per CoI, apheresis unit and attempt: 200 and the existing batch when it
        is already open with the same details). A unit batch has not (yet) learnt of is a
        422 problem."""
        caller.require_site(body.manufacturing_site, "opening a batch")
        actor = caller.actor
        cmd = OpenBatch(
            coi=body.coi,
            apheresis_unit_id=body.apheresis_unit_id,
            din=body.din,
            manufacturing_site=body.manufacturing_site,
            attempt=body.attempt,
            actor=actor,
        )
        async with uow:
            opened = await open_batch(uow, catalog, cmd, actor, product_code=body.product_code)
            assert opened is not None  # HTTP never defers: an unknown unit is a 422
            record = await _with_execution(uow, caller, await _record(uow, caller, opened.batch_id))
        if not opened.created:
            response.status_code = 200
        return record

    @router.get("/batches", response_model=list[BatchSummary])
    async def list_(
        uow: NewUow, caller: Reader, coi: Annotated[str, Query(pattern=COI_PATTERN)]
    ) -> list[BatchSummary]:
        async with uow:
            found = await queries.batches_of(uow.session, coi)
        return [b for b in found if caller.may_see(b.manufacturing_site)]

    @router.get("/batches/{batch_id}", response_model=BatchRecord)
    async def get_batch(
        batch_id: str, caller: Reader, uow: NewUow, signing: SigningGate
    ) -> BatchRecord:
        """The batch record: each step with who performed it and who verified it, with
        their signatures (printed name, time in UTC and the site's zone, meaning)."""
        async with uow:
            zone = signing.settings.time_zone
            return await _with_execution(
                uow, caller, await _record(uow, caller, batch_id, zone), zone
            )

    @router.post("/batches/{batch_id}/steps", status_code=201, response_model=StepView)
    async def record(
        batch_id: str,
        body: SignedStepBody,
        caller: Manufacturing,
        uow: NewUow,
        signing: SigningGate,
    ) -> StepView:
        """Record the next step, signed by who performed it (meaning performed; without a
        signature: 428 with the content to sign). What the batch refuses (order, values,
        times) is refused before signing."""
        entry = StepValues(**body.model_dump(exclude={"signature"}))
        async with uow:
            found = await _record(uow, caller, batch_id)
            sign = GateSign(
                signing,
                uow,
                caller,
                record_id=batch_id,
                meaning=Meaning.PERFORMED,
                request=body.signature,
                roles=PERFORMERS,
                site=found.manufacturing_site,
            )
            done = await record_step(uow, batch_id, entry, reported_times, sign)
            await sign.record()
            view = await queries.step(
                uow.session, batch_id, done.step.value, signing.settings.time_zone
            )
        assert view is not None
        return view

    @router.post(
        "/batches/{batch_id}/steps/{step}/verification",
        status_code=201,
        response_model=StepView | ExecutedStep,
    )
    async def verify(
        batch_id: str,
        step: str,
        body: VerificationBody,
        caller: Manufacturing,
        uow: NewUow,
        signing: SigningGate,
    ) -> StepView | ExecutedStep:
        """A second person verifies a recorded step, signed (meaning verified; without a
        signature: 428 with the content to sign) — on the performer's tablet too, with
        their own user id and password. The performer cannot verify their step (403
        verification-by-performer). ``step``: a process step, or a step of the batch's MBR."""
        async with uow:
            found = await _record(uow, caller, batch_id)
            sign = GateSign(
                signing,
                uow,
                caller,
                record_id=batch_id,
                meaning=Meaning.VERIFIED,
                request=body.signature,
                roles=VERIFIERS,
                site=found.manufacturing_site,
            )
            if (await batch_site(uow, caller, batch_id))[1]:
                await verify_mbr_step(uow, batch_id, step, sign, gates)
                await sign.record()
                executed = await execution_of(uow, batch_id, signing.settings.time_zone)
                return next(s for s in executed.steps if s.step_id == step)
            await verify_step(uow, batch_id, process_step(step), sign)
            await sign.record()
            view = await queries.step(uow.session, batch_id, step, signing.settings.time_zone)
        assert view is not None
        return view

    @router.post("/batches/{batch_id}/lot", status_code=201, response_model=LotView)
    async def produce(batch_id: str, body: LotBody, caller: Manufacturing, uow: NewUow) -> LotView:
        """Produce the lot after cryopreservation, once a second person has verified every
        step the batch's configuration names (409 unverified-steps until then)."""
        async with uow:
            await _record(uow, caller, batch_id)
            lot = await produce_lot(uow, batch_id, LotEntry(**body.model_dump()), caller.actor)
            return await _lot(uow, caller, lot.lot_id)

    @router.get("/lots/{lot_id}", response_model=LotView)
    async def get_lot(lot_id: str, caller: Reader, uow: NewUow) -> LotView:
        async with uow:
            return await _lot(uow, caller, lot_id)

    @router.post("/lots/{lot_id}/manufacturing-failure", response_model=LotView)
    async def manufacturing_failure(
        lot_id: str, body: FailureBody, caller: FailureRecorder, uow: NewUow
    ) -> LotView:
        """Record that manufacturing found the lot failed (it will not come; idempotent). Not
        a disposition: QA disposes of the lot in QC, people decide recovery."""
        async with uow:
            await _lot(uow, caller, lot_id)
            await record_manufacturing_failure(
                uow, lot_id, body.reason, caller.actor, deviation_id=body.deviation_id
            )
            return await _lot(uow, caller, lot_id)

    @router.get("/materials/{apheresis_unit_id}", response_model=MaterialView)
    async def get_material(apheresis_unit_id: str, caller: Reader, uow: NewUow) -> MaterialView:
        async with uow:
            found = await queries.material(uow.session, apheresis_unit_id)
        visible = found is not None and (
            not found.batches or any(caller.may_see(b.manufacturing_site) for b in found.batches)
        )
        if found is None or not visible:
            raise NotFound("material-not-found", f"no apheresis unit {apheresis_unit_id!r}")
        return found

    return router
