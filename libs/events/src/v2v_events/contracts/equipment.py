"""Events of the batch service's equipment register (topic ``v2v.batch.events``). They
concern an instrument, not one patient: their subject (the Kafka key) is the equipment id,
so one instrument's messages keep their order."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ..bounds import LIST_MAX
from ..catalog import Service
from ..ids import CoI
from ..registry import REGISTRY, Contract
from .common import Actor, BoundedDatetime, Count, Identifier, Name, Text

B = Service.BATCH
# The batches one out-of-tolerance finding (a busy instrument between two calibrations) or
# one material lot's rejection lists; beyond it, ``batch_count`` says how many more there are.
AFFECTED_BATCHES_MAX = 2000


class EquipmentStatus(StrEnum):
    IN_SERVICE = "in-service"
    CALIBRATION_DUE = "calibration-due"
    MAINTENANCE_DUE = "maintenance-due"
    OUT_OF_SERVICE = "out-of-service"


class Tolerance(StrEnum):
    IN_TOLERANCE = "in-tolerance"
    OUT_OF_TOLERANCE = "out-of-tolerance"


@REGISTRY.event(B, "equipment.status-changed", version=1)
class EquipmentStatusChanged(Contract):
    """An act in the equipment register changed an instrument's status: registered, taken
    out of or returned to service, calibrated, maintained (``reason`` says which). A due
    time passing makes an instrument due without a message: ``calibration_due_at`` and
    ``maintenance_due_at`` say when that happens."""

    equipment_id: Identifier
    equipment_type: Identifier
    site: Name
    location: Name
    status: EquipmentStatus
    previous_status: EquipmentStatus | None = None  # None: just registered
    reason: Text
    calibration_due_at: BoundedDatetime | None = None
    maintenance_due_at: BoundedDatetime | None = None
    changed_at: BoundedDatetime
    actor: Actor


class UsedBatch(Contract):
    """A batch that used an instrument (its usage log) or a material lot (the genealogy):
    the steps it was used at, first and last use."""

    batch_id: Identifier
    coi: CoI
    steps: list[Identifier] = Field(min_length=1, max_length=LIST_MAX)
    first_used_at: BoundedDatetime
    last_used_at: BoundedDatetime


@REGISTRY.event(B, "equipment.out-of-tolerance", version=1)
class EquipmentOutOfTolerance(Contract):
    """A calibration found an instrument out of tolerance: every batch of its usage log
    since it was last left in tolerance (``since``; None: since it entered service), for an
    impact assessment. QC opens one deviation per ``calibration_id`` (a repeat opens none)."""

    calibration_id: Identifier
    equipment_id: Identifier
    equipment_type: Identifier
    site: Name
    location: Name
    performed_at: BoundedDatetime
    as_left: Tolerance
    certificate_ref: Name
    since: BoundedDatetime | None = None
    batches: list[UsedBatch] = Field(default_factory=list, max_length=AFFECTED_BATCHES_MAX)
    batch_count: Count = Field(description="all batches affected (batches lists the first)")
    actor: Actor
