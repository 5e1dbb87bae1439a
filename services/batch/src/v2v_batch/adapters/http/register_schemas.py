"""Request bodies of the equipment register, the SOP register and training records."""

from __future__ import annotations

from pydantic import Field

from v2v_events.contracts.common import BoundedDatetime

from ...domain.equipment import EQUIPMENT_ID_PATTERN, EQUIPMENT_TYPE_PATTERN
from ...domain.equipment_events import Tolerance
from ...domain.training import DOCUMENT_ID_PATTERN, QUALIFICATION_PATTERN
from ...domain.training_events import QualificationKind
from .schemas import INT32_MAX, Id, _Body

EquipmentId = Field(pattern=EQUIPMENT_ID_PATTERN, examples=["CEN-0042"])
Name = Field(min_length=1, max_length=200)
Reason = Field(min_length=1, max_length=2000)


class ScheduleBody(_Body):
    interval_days: int = Field(ge=1, le=3650)
    due_at: BoundedDatetime = Field(description="first due: the instrument is due from then")


class EquipmentBody(_Body):
    equipment_id: str = EquipmentId
    equipment_type: str = Field(pattern=EQUIPMENT_TYPE_PATTERN, examples=["centrifuge"])
    name: str = Name
    site: str = Id
    location: str = Name
    calibration: ScheduleBody
    maintenance: ScheduleBody | None = None
    operator_qualification: str | None = Field(
        None, pattern=QUALIFICATION_PATTERN, description="who uses it must hold this then"
    )
    in_service_from: BoundedDatetime | None = Field(None, description="default: now")


class CalibrationBody(_Body):
    performed_at: BoundedDatetime
    as_found: Tolerance
    as_left: Tolerance
    certificate_ref: str = Name
    next_due_at: BoundedDatetime | None = Field(
        None, description="default: performed_at + the calibration interval"
    )
    notes: str = Field("", max_length=2000)


class MaintenanceBody(_Body):
    performed_at: BoundedDatetime
    description: str = Reason
    next_due_at: BoundedDatetime | None = Field(
        None, description="default: performed_at + the maintenance interval"
    )


class ReasonBody(_Body):
    reason: str = Reason


class LocationBody(_Body):
    location: str = Name


class UseBody(_Body):
    equipment_id: str = EquipmentId
    equipment_type: str | None = Field(
        None, pattern=EQUIPMENT_TYPE_PATTERN, description="the type the step asks for"
    )
    used_at: BoundedDatetime | None = Field(None, description="the time of use; default: now")


class SopVersionBody(_Body):
    document_id: str = Field(pattern=DOCUMENT_ID_PATTERN, examples=["SOP-MFG-012"])
    version: int = Field(ge=1, le=INT32_MAX)
    title: str = Name
    effective_at: BoundedDatetime
    training_due_at: BoundedDatetime = Field(description="no later than effective_at")


class QualificationBody(_Body):
    kind: QualificationKind
    code: str | None = Field(None, description="a practical qualification's code only")
    document_id: str | None = Field(None, pattern=DOCUMENT_ID_PATTERN)
    sop_version: int | None = Field(None, ge=1, le=INT32_MAX)
    valid_from: BoundedDatetime
    expires_at: BoundedDatetime | None = None
    reference: str = Field(min_length=1, max_length=200, examples=["TR-2026-0412"])
