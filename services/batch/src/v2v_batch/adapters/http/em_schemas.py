"""Request bodies of the room register and environmental monitoring."""

from __future__ import annotations

from pydantic import Field

from v2v_events.contracts.common import BoundedDatetime

from ...domain.em_limits import VALUE_MAX, Grade, Occupancy
from ...domain.room import ROOM_ID_PATTERN
from .schemas import Id, _Body

# Names and labels are checked by the domain (naming the field), not by a pattern here: an
# unknown room or sample type is a 422 that says so.
Label = Field(min_length=1, max_length=64)
Value = Field(ge=0, le=VALUE_MAX, allow_inf_nan=False)


class RoomBody(_Body):
    room_id: str = Field(
        pattern=ROOM_ID_PATTERN, examples=["GRADE-B-SUITE-2"], description="as steps name it"
    )
    name: str = Field(min_length=1, max_length=200)
    grade: Grade
    site: str = Id


class EmResultBody(_Body):
    room_id: str = Label
    sample_type: str = Field(min_length=1, max_length=64, examples=["settle-plate"])
    sample_id: str = Field(
        min_length=1, max_length=64, description="the plate's or reading's label"
    )
    location: str = Field(min_length=1, max_length=200, description="the sampling point")
    sampled_at: BoundedDatetime = Field(description="when the sample was taken (exposure start)")
    read_at: BoundedDatetime | None = Field(None, description="when it was read; default: now")
    occupancy: Occupancy | None = Field(
        None, description="the room's state then; required for particle counts"
    )
    value: float = Value
    unit: str = Field(min_length=1, max_length=64, examples=["CFU/4 h"])
    comment: str | None = Field(None, min_length=1, max_length=2000)


class EmCorrectionBody(_Body):
    value: float = Value
    unit: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)
