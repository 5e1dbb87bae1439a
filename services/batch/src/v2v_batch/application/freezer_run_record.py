"""The views of a batch's controlled-rate freezer runs, from the batch's state and the
signatures of its stream."""

from __future__ import annotations

from collections.abc import Mapping

from v2v_runtime.errors import NotFound
from v2v_runtime.signatures.model import SignatureView

from ..domain import Batch
from ..domain.freezer_run_events import FreezerRunRecorded
from ..domain.freezing_profile import Probe
from .execution_views import FreezerRunDetail, FreezerRunView, Who


def freezer_run_view(
    batch: Batch, run: FreezerRunRecorded, signed: Mapping[str, SignatureView]
) -> FreezerRunView:
    result = run.comparison
    lot_id = run.lot_id or (batch.lot.lot_id if batch.lot is not None else None)
    return FreezerRunView(
        run_id=run.run_id,
        step_id=run.step_id,
        equipment_id=run.equipment_id,
        profile_id=run.profile.profile_id,
        profile_version=run.profile.profile_version,
        profile_name=run.profile.name,
        started_at=run.started_at,
        ended_at=run.ended_at,
        points=len(run.curve),
        probes=[p.value for p in Probe if any(c.reading(p) is not None for c in run.curve)],
        in_band=result.in_band,
        completed=result.completed,
        programmed_s=result.programmed_s,
        curve_ends_s=result.curve_ends_s,
        excursions=list(result.excursions),
        first_excursion=result.first,
        worst_excursion=result.worst,
        exception_id=run.exception_id,
        lot_id=lot_id,
        bag_ids=list(run.bag_ids),
        bag_count=run.bag_count,
        comment=run.comment,
        performed_by=Who(user_id=run.performed_by.user_id, role=run.performed_by.role),
        recorded_at=run.recorded_at,
        late=run.late,
        signatures=[signed[run.signature_id]] if run.signature_id in signed else [],
    )


def freezer_run_views(batch: Batch, signed: Mapping[str, SignatureView]) -> list[FreezerRunView]:
    return [freezer_run_view(batch, r, signed) for r in batch.freezer_runs.values()]


def freezer_run_detail(
    batch: Batch, run_id: str, signed: Mapping[str, SignatureView]
) -> FreezerRunDetail:
    run = batch.freezer_runs.get(run_id)
    if run is None:
        raise NotFound("freezer-run-not-found", f"batch {batch.id} has no freezer run {run_id!r}")
    view = freezer_run_view(batch, run, signed)
    return FreezerRunDetail(**dict(view), profile=run.profile, curve=list(run.curve))
