"""The HTTP API of controlled-rate freezer runs: record one (signed, meaning performed), list
a batch's runs, read one with its curve."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import BoundedDatetime
from v2v_runtime.http_deps import NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning, SignatureRequest
from v2v_runtime.signatures.store import signatures_of
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ...application.execution_record import Signed
from ...application.execution_views import FreezerRunDetail, FreezerRunView
from ...application.freezer_run_record import freezer_run_detail, freezer_run_views
from ...application.record_freezer_run import record_freezer_run
from ...domain import Batch
from ...domain.freezer_curve import POINTS_MAX, CurvePoint
from ...domain.freezer_runs import FreezerRunEntry
from ...domain.freezing_profile import FreezingProfiles
from .execution_reads import batch_site
from .refusals import keeping_refusals
from .routes import Manufacturing, Reader
from .signing import PERFORMERS, GateSign

Id = Field(min_length=1, max_length=128)


class FreezerRunBody(BaseModel):
    """A run as the freezer logged it: ``curve`` readings at seconds from ``started_at``,
    the chamber and/or sample probe (°C); the bags it froze — ``bag_ids`` of the batch's
    lot once it exists, ``bag_count`` before."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    equipment_id: str = Id
    profile_id: str = Id
    step_id: str | None = Field(None, min_length=1, max_length=32)
    started_at: BoundedDatetime
    ended_at: BoundedDatetime
    curve: list[CurvePoint] = Field(max_length=POINTS_MAX)
    bag_ids: list[str] = Field(default_factory=list, max_length=200)
    bag_count: int | None = Field(None, ge=0, le=10_000)
    comment: str | None = Field(None, min_length=1, max_length=2000)
    signature: SignatureRequest | None = None

    def entry(self) -> FreezerRunEntry:
        return FreezerRunEntry(
            equipment_id=self.equipment_id,
            profile_id=self.profile_id,
            step_id=self.step_id,
            started_at=self.started_at,
            ended_at=self.ended_at,
            curve=tuple(self.curve),
            bag_ids=tuple(self.bag_ids),
            bag_count=self.bag_count,
            comment=self.comment,
        )


async def _batch(uow: UnitOfWork, batch_id: str, zone: str) -> tuple[Batch, Signed]:
    batch = await uow.repository(Batch).get(batch_id)
    found = await signatures_of(uow.session, [batch_id], zone)
    return batch, {s.signature_id: s for s in found.get(batch_id, [])}


def build_freezer_run_router(profiles: FreezingProfiles, window: ReportedTimeWindow) -> APIRouter:
    router = APIRouter(tags=["freezer runs"])

    @router.post(
        "/batches/{batch_id}/freezer-runs", status_code=201, response_model=FreezerRunDetail
    )
    async def record_run(
        batch_id: str,
        body: FreezerRunBody,
        caller: Manufacturing,
        uow: NewUow,
        signing: SigningGate,
    ) -> FreezerRunDetail:
        """Record a controlled-rate freezer run, signed by who performed it (meaning
        performed; 428 with the content first). The freezer goes through the equipment
        register's gate (refusals kept in its usage log); the curve is checked (422
        `curve-out-of-order`, `curve-out-of-range`, `curve-too-few-points`, ...) and
        compared with the profile's band: outside it, the run records an exception and QC
        opens a deviation for it."""
        zone = signing.settings.time_zone
        async with keeping_refusals(uow), uow:  # a refused use of the freezer is kept
            site, _ = await batch_site(uow, caller, batch_id)
            sign = GateSign(
                signing,
                uow,
                caller,
                record_id=batch_id,
                meaning=Meaning.PERFORMED,
                request=body.signature,
                roles=PERFORMERS,
                site=site,
            )
            run = await record_freezer_run(
                uow, batch_id, body.entry(), profiles, window, sign, caller.actor
            )
            await sign.record()
            batch, signed = await _batch(uow, batch_id, zone)
            return freezer_run_detail(batch, run.run_id, signed)

    @router.get("/batches/{batch_id}/freezer-runs", response_model=list[FreezerRunView])
    async def list_runs(
        batch_id: str, caller: Reader, uow: NewUow, signing: SigningGate
    ) -> list[FreezerRunView]:
        """The batch's freezer runs (without their curves), in the order recorded."""
        async with uow:
            await batch_site(uow, caller, batch_id)
            return freezer_run_views(*await _batch(uow, batch_id, signing.settings.time_zone))

    @router.get("/batches/{batch_id}/freezer-runs/{run_id}", response_model=FreezerRunDetail)
    async def get_run(
        batch_id: str, run_id: str, caller: Reader, uow: NewUow, signing: SigningGate
    ) -> FreezerRunDetail:
        """One run with its profile as it ran and its curve."""
        async with uow:
            await batch_site(uow, caller, batch_id)
            batch, signed = await _batch(uow, batch_id, signing.settings.time_zone)
            return freezer_run_detail(batch, run_id, signed)

    return router
