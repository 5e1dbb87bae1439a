"""Domain events of the equipment register (stream id = ``equipment-<equipment id>``): an
instrument's registration, calibrations, maintenance, taking it out of and back into
service, and its usage log (every use at a batch step, and every use refused)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from v2v_runtime.domain import DomainEvent

from .events import Operator


class EquipmentStatus(StrEnum):
    IN_SERVICE = "in-service"
    CALIBRATION_DUE = "calibration-due"  # past its calibration due time
    MAINTENANCE_DUE = "maintenance-due"  # past its preventive-maintenance due time
    OUT_OF_SERVICE = "out-of-service"  # taken out of service, or left out of tolerance


class Tolerance(StrEnum):
    """A calibration's finding: as found (before adjustment) and as left (after)."""

    IN_TOLERANCE = "in-tolerance"
    OUT_OF_TOLERANCE = "out-of-tolerance"


class Schedule(BaseModel):
    """A calibration or preventive-maintenance schedule: every ``interval_days``, next due
    at ``due_at`` (an instant: the instrument may be used before it, not from it on)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interval_days: int = Field(ge=1, le=3650)
    due_at: AwareDatetime


class AffectedBatch(BaseModel):
    """A batch that used an instrument found out of tolerance (its usage log) or a material
    lot rejected after use (the genealogy): the steps, and when (the first and last use)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    batch_id: str
    coi: str
    steps: tuple[str, ...]
    first_used_at: AwareDatetime
    last_used_at: AwareDatetime


class EquipmentRegistered(DomainEvent):
    kind = "equipment.registered"

    equipment_id: str
    equipment_type: str
    name: str
    site: str
    location: str
    calibration: Schedule
    maintenance: Schedule | None = None
    # Who may operate it: a qualification the user must hold at the time of use (optional).
    operator_qualification: str | None = None
    # In service from (e.g. when its qualification was completed): uses before are refused.
    in_service_from: AwareDatetime
    registered_at: AwareDatetime


class EquipmentRelocated(DomainEvent):
    kind = "equipment.relocated"

    location: str
    relocated_at: AwareDatetime


class CalibrationRecorded(DomainEvent):
    """A calibration as performed: found in or out of tolerance, left in or out of it. Found
    out of tolerance, it names the batches used since the instrument was last known in
    tolerance (``since``: the last calibration that left it so; None: since registration)."""

    kind = "equipment.calibration-recorded"
    observed_times = ("performed_at",)

    calibration_id: str
    performed_at: AwareDatetime
    as_found: Tolerance
    as_left: Tolerance
    certificate_ref: str
    next_due_at: AwareDatetime | None  # None: left out of tolerance, the due time stays
    notes: str = ""
    recorded_at: AwareDatetime
    late: bool = False
    since: AwareDatetime | None = None
    affected: tuple[AffectedBatch, ...] = ()


class MaintenanceRecorded(DomainEvent):
    kind = "equipment.maintenance-recorded"
    observed_times = ("performed_at",)

    maintenance_id: str
    performed_at: AwareDatetime
    description: str
    next_due_at: AwareDatetime | None  # None: the instrument has no maintenance schedule
    recorded_at: AwareDatetime
    late: bool = False


class RemovedFromService(DomainEvent):
    kind = "equipment.removed-from-service"

    reason: str
    at: AwareDatetime


class ReturnedToService(DomainEvent):
    kind = "equipment.returned-to-service"

    reason: str
    at: AwareDatetime


class EquipmentUsed(DomainEvent):
    """The usage log: the instrument was used at a step of a batch."""

    kind = "equipment.used"
    observed_times = ("used_at",)

    batch_id: str
    coi: str
    step: str
    used_at: AwareDatetime
    used_by: Operator
    recorded_at: AwareDatetime
    late: bool = False


class UseRefused(DomainEvent):
    """A use at a batch step was refused (the control working, not a deviation): why."""

    kind = "equipment.use-refused"

    batch_id: str
    coi: str
    step: str
    at: AwareDatetime  # the time of use asked for
    code: str
    reason: str
    by: Operator
    recorded_at: AwareDatetime


EQUIPMENT_EVENTS: tuple[type[DomainEvent], ...] = (
    EquipmentRegistered,
    EquipmentRelocated,
    CalibrationRecorded,
    MaintenanceRecorded,
    RemovedFromService,
    ReturnedToService,
    EquipmentUsed,
    UseRefused,
)
