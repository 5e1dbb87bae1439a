"""Record a calibration of an instrument as performed (certificate, found and left in or
out of tolerance). Found out of tolerance, it raises one deviation in QC over Kafka
(``EquipmentOutOfTolerance``, one per calibration) listing every batch of the usage log
since the instrument was last left in tolerance: the impact assessment to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain.equipment import Instrument
from ..domain.equipment_events import CalibrationRecorded, Tolerance
from .equipment_messages import out_of_tolerance, save_instrument


@dataclass(frozen=True)
class CalibrationEntry:
    performed_at: datetime
    as_found: Tolerance
    as_left: Tolerance
    certificate_ref: str
    next_due_at: datetime | None = None  # None: performed_at + the calibration interval
    notes: str = ""


async def record_calibration(
    uow: UnitOfWork,
    equipment_id: str,
    entry: CalibrationEntry,
    window: ReportedTimeWindow,
    actor: Actor,
) -> CalibrationRecorded:
    inst = await uow.repository(Instrument).get(Instrument.stream_for(equipment_id))
    now = uow.clock.now()
    window.check(entry.performed_at, now, field="performed_at", what="calibration")
    before = inst.status_at(now)
    found = inst.record_calibration(
        calibration_id=uow.ids.new_id(),
        performed_at=entry.performed_at,
        as_found=entry.as_found,
        as_left=entry.as_left,
        certificate_ref=entry.certificate_ref,
        next_due_at=entry.next_due_at,
        notes=entry.notes,
        recorded_at=now,
        late=window.is_late(entry.performed_at, now),
    )
    reason = f"calibration {found.calibration_id}: left {found.as_left.value}"
    await save_instrument(uow, inst, actor, before=before, reason=reason)
    if found.as_found is Tolerance.OUT_OF_TOLERANCE:
        await uow.publish(out_of_tolerance(inst, found, actor), subject=inst.equipment_id)
    return found
