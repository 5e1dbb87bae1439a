"""What the batch service shows of master batch records and of batches executed from
them: MBR versions, the executed record (every step planned and done, every value with
whether it changed after entry), the exceptions, and the review by exception."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from v2v_runtime.signatures.model import SignatureView

from ..domain.freezer_curve import CurvePoint, Excursion
from ..domain.freezing_profile import FreezingProfile
from ..domain.mbr_content import MbrContent
from .em_views import EmResultView
from .who import Who as Who


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class MbrVersionSummary(_View):
    product_code: str
    site: str
    version: int
    status: str
    title: str
    therapy: str
    drafted_at: datetime
    drafted_by: Who
    approved_at: datetime | None = None
    effective_at: datetime | None = None
    ended_at: datetime | None = None
    change_control_id: str | None = Field(
        default=None, description="the change control (QC) it took effect through"
    )


class ChangeControlNote(_View):
    """An approved change control (QC's) naming the version: it takes effect through it."""

    change_control_id: str
    approved_by: Who
    approved_at: datetime
    noted_at: datetime = Field(description="when batch learnt of the approval")


class MbrVersionView(MbrVersionSummary):
    content: MbrContent
    content_hash: str
    approved_by: Who | None = None
    change_control: ChangeControlNote | None = None
    end_reason: str | None = None
    history: list[str] = Field(default_factory=list, description="returns to draft, and why")
    signatures: list[SignatureView] = Field(default_factory=list)


class PinnedMbr(_View):
    product_code: str
    site: str
    version: int
    title: str
    content_hash: str


class Correction(_View):
    old: Any
    new: Any
    unit: str | None
    reason: str
    corrected_by: Who
    corrected_at: datetime
    signatures: list[SignatureView] = Field(default_factory=list)


class ValueView(_View):
    name: str
    label: str
    value: Any
    unit: str | None
    limits: str
    target: float | None = None
    critical: bool
    within_limits: bool | None
    # Annex 11 §8.2: whether the value was changed after it was first entered.
    changed_after_entry: bool = False
    corrections: list[Correction] = Field(default_factory=list)


class Voided(_View):
    verified_by: Who
    verified_at: datetime


class ExecutedStep(_View):
    step_id: str
    name: str
    operation: str
    position: int
    sop: str
    qualification: str | None
    verification_required: bool
    status: str  # pending | performed | verified
    room: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    values: list[ValueView] = Field(default_factory=list)
    materials: list[dict[str, Any]] = Field(default_factory=list)
    equipment: list[dict[str, Any]] = Field(default_factory=list)
    comment: str | None = None
    performed_by: Who | None = None
    recorded_at: datetime | None = None
    late: bool = False
    verified_by: Who | None = None
    verified_at: datetime | None = None
    # Verifications a later correction voided (their signatures stay in ``signatures``).
    voided_verifications: list[Voided] = Field(default_factory=list)
    signatures: list[SignatureView] = Field(default_factory=list)
    environment: list[EmResultView] = Field(
        default_factory=list,
        description="alert and action monitoring results of its room whose impact window "
        "overlaps the step's start to end (read now: results recorded later show too)",
    )


class Dispositioned(_View):
    disposition: str
    rationale: str
    deviation_id: str | None
    dispositioned_by: Who
    dispositioned_at: datetime
    signatures: list[SignatureView] = Field(default_factory=list)


class ExceptionView(_View):
    exception_id: str
    step_id: str
    kind: str
    parameter: str | None
    value: str | None
    limit: str
    detail: str
    raised_at: datetime
    deviation_requested: bool = Field(
        True, description="announced to QC (batch.exception.raised), which opens a deviation"
    )
    disposition: Dispositioned | None = None
    freezer_run_id: str | None = Field(None, description="the freezer run out of its band")


class FreezerRunView(_View):
    """A controlled-rate freezer run of the batch, compared with its profile's band."""

    run_id: str
    step_id: str
    equipment_id: str
    profile_id: str
    profile_version: str
    profile_name: str
    started_at: datetime
    ended_at: datetime
    points: int
    probes: list[str] = Field(description="the probes recorded")
    in_band: bool = Field(description="no reading outside the band and the programme completed")
    completed: bool
    programmed_s: float
    curve_ends_s: float
    excursions: list[Excursion]
    first_excursion: Excursion | None
    worst_excursion: Excursion | None
    exception_id: str | None
    lot_id: str | None = Field(description="the lot the bags are (or will be) in")
    bag_ids: list[str] = Field(description="empty when the run preceded the lot")
    bag_count: int
    comment: str | None
    performed_by: Who
    recorded_at: datetime
    late: bool
    signatures: list[SignatureView] = Field(default_factory=list)


class FreezerRunDetail(FreezerRunView):
    """The run with its profile (as it ran) and its curve."""

    profile: FreezingProfile
    curve: list[CurvePoint]


class Reviewed(_View):
    reviewed_by: Who
    reviewed_at: datetime
    exceptions: int
    corrections: int
    late_entries: int
    signatures: list[SignatureView] = Field(default_factory=list)


class ExecutionView(_View):
    """The executed batch record of a batch that follows an MBR."""

    mbr: PinnedMbr
    next_step: str | None
    steps: list[ExecutedStep]
    exceptions: list[ExceptionView]
    freezer_runs: list[FreezerRunView] = Field(default_factory=list)
    review: Reviewed | None = None


class CorrectionEntry(_View):
    step_id: str
    parameter: str
    correction: Correction


class LateEntry(_View):
    step_id: str
    ended_at: datetime
    recorded_at: datetime
    performed_by: Who


class DeviationEntry(_View):
    exception_id: str
    deviation_id: str | None = Field(
        None, description="QC's deviation, as QA named it in the exception's disposition"
    )
    detail: str


class ReviewView(_View):
    """Review by exception: only what departs from the MBR, and what blocks the review."""

    batch_id: str
    mbr: PinnedMbr
    exceptions: list[ExceptionView]
    deviations: list[DeviationEntry]
    corrections: list[CorrectionEntry]
    late_entries: list[LateEntry]
    environment: list[EmResultView] = Field(
        default_factory=list,
        description="action excursions and alert trends of the rooms its steps were done in",
    )
    blocking: list[str] = Field(description="why the record cannot be reviewed yet")
    review: Reviewed | None = None
