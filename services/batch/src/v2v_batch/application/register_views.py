"""What the equipment and SOP registers and a person's training record show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .views import Person


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class ScheduleView(_View):
    interval_days: int
    due_at: datetime


class EquipmentView(_View):
    equipment_id: str
    equipment_type: str
    name: str
    site: str
    location: str
    status: str = Field(description="in-service, calibration-due, maintenance-due, out-of-service")
    status_at: datetime = Field(description="the time the status is for (now)")
    calibration: ScheduleView
    maintenance: ScheduleView | None
    operator_qualification: str | None
    in_service_from: datetime
    out_of_service_reason: str | None
    left_out_of_tolerance: bool
    last_calibration_at: datetime | None
    registered_at: datetime


class RegisterEntry(_View):
    """One recorded act of the register (registration, calibration, maintenance, taken out
    of or returned to service, moved) with who recorded it and when."""

    kind: str
    recorded_at: datetime
    recorded_by: Person
    values: dict[str, Any]


class EquipmentRecord(EquipmentView):
    history: list[RegisterEntry]


class Refusal(_View):
    code: str
    reason: str


class UseView(_View):
    """An entry of the usage log: a use at a batch step, or a use refused (and why)."""

    equipment_id: str
    batch_id: str
    coi: str
    step: str
    used_at: datetime
    used_by: Person
    recorded_at: datetime
    late: bool
    refusal: Refusal | None


class SopVersionView(_View):
    version: int
    title: str
    effective_at: datetime
    training_due_at: datetime
    registered_at: datetime
    status: str = Field(
        description="pending (no approved change control names it), approved (effective "
        "from effective_at), effective (in force now), superseded"
    )
    change_control_id: str | None = Field(
        default=None, description="the change control approved in QC naming this version"
    )


class SopView(_View):
    document_id: str
    effective_version: int | None = Field(
        description="the version in force now, if any: change control approved, effective_at passed"
    )
    versions: list[SopVersionView]


class QualificationView(_View):
    qualification_id: str
    kind: str
    code: str
    document_id: str | None
    sop_version: int | None
    valid_from: datetime
    expires_at: datetime | None
    reference: str
    recorded_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    holds: bool = Field(description="whether it qualifies the person at the time asked")
    why_not: str | None


class TrainingRecord(_View):
    user_id: str
    at: datetime
    qualifications: list[QualificationView]


class QualifiedView(_View):
    user_id: str
    qualification: str
    at: datetime
    qualified: bool
    qualification_id: str | None = None
    reason: str | None = None
