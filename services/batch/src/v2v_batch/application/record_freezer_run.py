"""Record a controlled-rate freezer run of a batch executed from its MBR, signed by who
performed it (meaning performed): the freezer (an instrument of the equipment register,
through its gate: of the type, at the batch's site, in service and calibrated for the whole
run — a refusal is kept in its usage log), the profile it ran, the curve and the bags it
froze. A curve outside the profile's band records an exception, announced to QC
(``batch.exception.raised``), which opens a deviation for it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain import Batch
from ..domain.freezer_curve import curve_digest
from ..domain.freezer_run_events import FreezerRunRecorded
from ..domain.freezer_runs import FREEZER_TYPE, CheckedRun, FreezerRunEntry
from ..domain.freezing_profile import FreezingProfile, FreezingProfiles
from .common import operator
from .equipment_use import BatchUse, Equipment
from .execution_messages import exception_raised
from .perform_step import executed_batch
from .ports import Sign


def signed_values(
    batch: Batch, entry: FreezerRunEntry, profile: FreezingProfile, run: CheckedRun
) -> dict[str, Any]:
    """What the performer signs: the run as entered — its curve by digest and size — and
    how it compares with the band."""
    assert batch.pinned is not None
    result = run.comparison
    return {
        "batch_id": batch.id,
        "mbr": {"product_code": batch.pinned.product_code, "version": batch.pinned.version},
        "step_id": run.step.step_id,
        "equipment_id": entry.equipment_id,
        "profile": {"profile_id": profile.profile_id, "version": profile.profile_version},
        "started_at": entry.started_at.isoformat(),
        "ended_at": entry.ended_at.isoformat(),
        "curve": {"points": len(run.curve), "sha256": curve_digest(run.curve)},
        "bags": {"lot_id": run.lot_id, "bag_ids": list(run.bag_ids), "count": run.bag_count},
        "in_band": result.in_band,
        "completed": result.completed,
        "excursions": len(result.excursions),
        "comment": entry.comment,
    }


async def record_freezer_run(
    uow: UnitOfWork,
    batch_id: str,
    entry: FreezerRunEntry,
    profiles: FreezingProfiles,
    window: ReportedTimeWindow,
    sign: Sign,
    caller: Actor,
) -> FreezerRunRecorded:
    batch, content = await executed_batch(uow, batch_id)
    now = uow.clock.now()
    window.check_not_too_old(entry.started_at, now, field="started_at", what="freezer-run")
    profile = profiles.get(entry.profile_id)
    run = batch.check_freezer_run(content, entry, profile, profiles.probe_range, now=now)
    use = BatchUse(
        batch_id=batch.id,
        coi=batch.coi,
        site=batch.manufacturing_site,
        step=run.step.step_id,
        by=caller,
    )
    freezer = Equipment(uow, window)
    # calibrated and in service until the run's end (a refusal is kept in its usage log)
    await freezer.check_use(entry.equipment_id, FREEZER_TYPE, entry.ended_at, use)
    signed = await sign(
        f"I ran freezer {entry.equipment_id} with profile {profile.profile_id} for batch "
        f"{batch_id} and recorded its curve as the freezer logged it, with the bags it froze.",
        signed_values(batch, entry, profile, run),
    )
    use = replace(use, by=signed.actor)  # who performed it: the signer
    await freezer.check_operator(entry.equipment_id, entry.started_at, use)
    recorded, raised = batch.record_freezer_run(
        content,
        entry,
        profile,
        profiles.probe_range,
        run_id=uow.ids.new_id(),
        now=now,
        late=window.is_late(entry.ended_at, now),
        performed_by=operator(signed.actor),
        signature_id=signed.signature_id,
        new_id=uow.ids.new_id,
    )
    await uow.repository(Batch).save(batch, signed.who)
    await freezer.log_use(entry.equipment_id, entry.ended_at, use)
    if raised is not None:
        await uow.publish(exception_raised(batch, content, raised, signed.actor), subject=batch.coi)
    return recorded
