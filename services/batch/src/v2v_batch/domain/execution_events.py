"""Domain events of a batch executed from its master batch record (in the batch's stream):
the MBR version it pinned, each step as performed (room, times, values, materials and
equipment), verifications, corrections, exceptions and their disposition, and the signed
review of the executed record."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)

from v2v_runtime.domain import Change, DomainEvent

from .events import Operator

# A value as entered: a number, a whole number, text, yes/no or one of a choice's options.
Value = Annotated[StrictBool | StrictInt | StrictFloat | StrictStr, Field(union_mode="smart")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EnteredValue(_Frozen):
    name: str
    value: Value
    unit: str | None = None
    # For a number with limits: whether it is within them (None: nothing to compare).
    within_limits: bool | None = None


class UsedMaterial(_Frozen):
    material_code: str
    lot_id: str
    quantity: float
    unit: str


class UsedEquipment(_Frozen):
    equipment_id: str
    equipment_type: str


class ExceptionKind(StrEnum):
    CRITICAL_PARAMETER_OUT_OF_LIMITS = "critical-parameter-out-of-limits"
    HOLD_TIME_EXCEEDED = "hold-time-exceeded"
    FREEZING_CURVE_OUT_OF_BAND = "freezing-curve-out-of-band"


class Disposition(StrEnum):
    NO_PRODUCT_IMPACT = "no-product-impact"
    PRODUCT_IMPACT = "product-impact"


class MbrPinned(DomainEvent):
    """The batch follows this MBR version, the one effective when it opened; it keeps it
    when a newer one becomes effective."""

    kind = "mbr-pinned"

    product_code: str
    site: str
    version: int = Field(ge=1)
    content_hash: str
    title: str
    step_ids: tuple[str, ...]  # the steps to perform, in order


class MbrStepPerformed(DomainEvent):
    kind = "mbr-step-performed"
    observed_times = ("started_at", "ended_at")

    step_id: str
    room: str
    started_at: AwareDatetime
    ended_at: AwareDatetime
    values: tuple[EnteredValue, ...] = ()
    materials: tuple[UsedMaterial, ...] = ()
    equipment: tuple[UsedEquipment, ...] = ()
    comment: str | None = None
    recorded_at: AwareDatetime
    late: bool = False
    performed_by: Operator
    signature_id: str


class MbrStepVerified(DomainEvent):
    kind = "mbr-step-verified"

    step_id: str
    verified_by: Operator
    verified_at: AwareDatetime
    signature_id: str


class EntryCorrected(DomainEvent):
    """A value entered at a step changed: the old one is kept here and in the step's
    history, with the reason and who corrected it (signed). A verified step needs its
    verification again."""

    kind = "entry-corrected"

    step_id: str
    old: EnteredValue
    new: EnteredValue
    reason: str
    corrected_by: Operator
    corrected_at: AwareDatetime
    signature_id: str

    def changes(self) -> list[Change]:
        return [
            Change(field=f"{self.step_id}.{self.new.name}", old=self.old.value, new=self.new.value)
        ]


class BatchExceptionRaised(DomainEvent):
    """A critical parameter out of its limits, a hold time exceeded or a freezer run's curve
    outside its profile's band: recorded, announced to QC (which opens a deviation) and
    dispositioned before the record is reviewed."""

    kind = "exception-raised"

    exception_id: str
    step_id: str
    exception_kind: ExceptionKind
    parameter: str | None = None
    value: str | None = None
    limit: str
    detail: str
    raised_at: AwareDatetime
    freezer_run_id: str | None = None  # the controlled-rate freezer run it is about


class ExceptionDispositioned(DomainEvent):
    kind = "exception-dispositioned"

    exception_id: str
    disposition: Disposition
    rationale: str
    deviation_id: str | None = None
    dispositioned_by: Operator
    dispositioned_at: AwareDatetime
    signature_id: str


class RecordReviewed(DomainEvent):
    """The executed batch record reviewed by exception and signed (meaning reviewed)."""

    kind = "record-reviewed"

    reviewed_by: Operator
    reviewed_at: AwareDatetime
    signature_id: str
    exceptions: int = Field(ge=0)
    corrections: int = Field(ge=0)
    late_entries: int = Field(ge=0)


EXECUTION_EVENTS: tuple[type[DomainEvent], ...] = (
    MbrPinned,
    MbrStepPerformed,
    MbrStepVerified,
    EntryCorrected,
    BatchExceptionRaised,
    ExceptionDispositioned,
    RecordReviewed,
)
