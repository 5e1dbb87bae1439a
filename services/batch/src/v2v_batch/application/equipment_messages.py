"""The equipment register's state -> public contracts (v2v_events.contracts.equipment), and
saving an instrument with the status change its act made, if any."""

from __future__ import annotations

from datetime import datetime

from v2v_events.contracts import equipment as contracts
from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.equipment import Instrument
from ..domain.equipment_events import CalibrationRecorded, EquipmentStatus
from .common import who


def status_changed(
    inst: Instrument,
    status: EquipmentStatus,
    previous: EquipmentStatus | None,
    reason: str,
    at: datetime,
    actor: Actor,
) -> contracts.EquipmentStatusChanged:
    info = inst.info()
    calibration_due, maintenance_due = inst.due_at(at)
    return contracts.EquipmentStatusChanged(
        equipment_id=info.equipment_id,
        equipment_type=info.equipment_type,
        site=info.site,
        location=inst.location,
        status=contracts.EquipmentStatus(status.value),
        previous_status=None if previous is None else contracts.EquipmentStatus(previous.value),
        reason=reason,
        calibration_due_at=calibration_due,
        maintenance_due_at=maintenance_due,
        changed_at=at,
        actor=actor,
    )


def out_of_tolerance(
    inst: Instrument, found: CalibrationRecorded, actor: Actor
) -> contracts.EquipmentOutOfTolerance:
    info = inst.info()
    listed = found.affected[: contracts.AFFECTED_BATCHES_MAX]
    return contracts.EquipmentOutOfTolerance(
        calibration_id=found.calibration_id,
        equipment_id=info.equipment_id,
        equipment_type=info.equipment_type,
        site=info.site,
        location=inst.location,
        performed_at=found.performed_at,
        as_left=contracts.Tolerance(found.as_left.value),
        certificate_ref=found.certificate_ref,
        since=found.since,
        batches=[
            contracts.UsedBatch(
                batch_id=b.batch_id,
                coi=b.coi,
                steps=list(b.steps),
                first_used_at=b.first_used_at,
                last_used_at=b.last_used_at,
            )
            for b in listed
        ],
        batch_count=len(found.affected),
        actor=actor,
    )


async def save_instrument(
    uow: UnitOfWork,
    inst: Instrument,
    actor: Actor,
    *,
    before: EquipmentStatus | None,
    reason: str,
) -> EquipmentStatus:
    """Save the instrument's new events; publish its status change (now) if the act made
    one. Returns the status now."""
    await uow.repository(Instrument).save(inst, who(actor))
    now = uow.clock.now()
    after = inst.status_at(now)
    if after is not before:
        message = status_changed(inst, after, before, reason, now, actor)
        await uow.publish(message, subject=inst.equipment_id)
    return after
