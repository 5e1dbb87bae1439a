"""Domain events of the room register and its environmental monitoring (stream id =
``room-<room id>``): a room's registration with its EU GMP Annex 1 grade, every result
recorded in it (classified against the limits of the programme then in force, kept with
it) and every correction of a result (the old value kept)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from v2v_runtime.domain import Change, DomainEvent

from .em_limits import AppliedLimit, Grade, Level, Occupancy, TrendRule


class RoomRegistered(DomainEvent):
    kind = "room.registered"

    room_id: str
    name: str
    grade: Grade
    site: str
    registered_at: AwareDatetime


class EmResultRecorded(DomainEvent):
    """A monitoring result: the sample (type, point, when taken and read, the room's
    occupancy), its value, and how it was classified — the grade, the limits applied, the
    Annex 1 edition and configuration version, the trend rule — and the window of batch
    steps it concerns (``impact_from`` .. ``impact_to``: sampled_at ± the impact window)."""

    kind = "em.result-recorded"
    observed_times = ("sampled_at", "read_at")

    result_id: str
    sample_id: str
    sample_type: str
    location: str  # the sampling point
    sampled_at: AwareDatetime
    read_at: AwareDatetime  # plate counted after incubation, or the counter's reading
    occupancy: Occupancy | None = None
    value: float = Field(ge=0)
    unit: str
    grade: Grade
    level: Level
    limit: AppliedLimit
    edition: str
    config_version: str
    trend_rule: TrendRule
    impact_from: AwareDatetime
    impact_to: AwareDatetime
    comment: str | None = None
    recorded_at: AwareDatetime
    late: bool = False


class EmResultCorrected(DomainEvent):
    """A result's value corrected (a transcription error, a recount), with the reason: the
    old value and level are kept; it is classified again against the limits recorded
    with it."""

    kind = "em.result-corrected"

    result_id: str
    old_value: float
    new_value: float = Field(ge=0)
    old_level: Level
    new_level: Level
    reason: str
    corrected_at: AwareDatetime

    def changes(self) -> list[Change]:
        return [Change(field=f"{self.result_id}.value", old=self.old_value, new=self.new_value)]


ROOM_EVENTS: tuple[type[DomainEvent], ...] = (RoomRegistered, EmResultRecorded, EmResultCorrected)
