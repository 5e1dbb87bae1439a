"""Domain event of a controlled-rate freezer run (in the batch's stream): the run as its
performer signed it — freezer, the profile version it ran (snapshotted), the curve, the
bags it froze — and its comparison with the profile's band, computed when recorded."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from v2v_runtime.domain import DomainEvent

from .events import Operator
from .freezer_curve import BandComparison, CurvePoint
from .freezing_profile import FreezingProfile


class FreezerRunRecorded(DomainEvent):
    kind = "freezer-run-recorded"
    observed_times = ("started_at", "ended_at")

    run_id: str
    step_id: str  # the MBR step that uses the controlled-rate freezer
    equipment_id: str
    profile: FreezingProfile
    started_at: AwareDatetime
    ended_at: AwareDatetime
    curve: tuple[CurvePoint, ...]
    # The bags it froze: their ids when the lot existed (its lot_id), else how many.
    bag_ids: tuple[str, ...] = ()
    bag_count: int = Field(ge=1)
    lot_id: str | None = None
    comparison: BandComparison
    exception_id: str | None = None  # raised when the curve left the band
    comment: str | None = None
    recorded_at: AwareDatetime
    late: bool = False
    performed_by: Operator
    signature_id: str


FREEZER_RUN_EVENTS: tuple[type[DomainEvent], ...] = (FreezerRunRecorded,)
