"""Events of the batch service's environmental monitoring (topic ``v2v.batch.events``).
They concern a clean room, not one patient: their subject (the Kafka key) is the room id,
so one room's messages keep their order."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ..bounds import LIST_MAX
from ..catalog import Service
from ..ids import CoI
from ..registry import REGISTRY, Contract
from .common import Actor, BoundedDatetime, Count, Identifier, Name

B = Service.BATCH
# The batches one excursion lists (a busy room over its impact window); beyond it,
# ``batch_count`` says how many more there were.
ROOM_BATCHES_MAX = 2000
EM_VALUE_MAX = 1e12  # particles per m³ of a Grade D room in operation are millions


class Grade(StrEnum):
    """EU GMP Annex 1 clean-room grade."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class Occupancy(StrEnum):
    AT_REST = "at-rest"
    IN_OPERATION = "in-operation"


class RoomBatch(Contract):
    """A batch with steps done in the room within the excursion's impact window: those
    steps, the first one's start and the last one's end."""

    batch_id: Identifier
    coi: CoI
    steps: list[Identifier] = Field(min_length=1, max_length=LIST_MAX)
    first_started_at: BoundedDatetime
    last_ended_at: BoundedDatetime


@REGISTRY.event(B, "environment.action-limit-exceeded", version=1)
class EnvironmentActionLimitExceeded(Contract):
    """An environmental monitoring result above its action limit (EU GMP Annex 1): the room
    and its grade, the sample, the value and the limit with the Annex 1 edition the
    programme follows, and every batch (and its CoI) with a step done in the room while
    ``window_from`` .. ``window_to`` (sampled_at ± the programme's impact window), for the
    impact assessment. QC opens one deviation per ``excursion_id`` (a repeat opens none)."""

    excursion_id: Identifier = Field(description="the result's id: one excursion per result")
    room_id: Identifier
    room_name: Name
    grade: Grade
    site: Name
    sample_type: Identifier
    sample_id: Identifier
    location: Name
    sampled_at: BoundedDatetime
    occupancy: Occupancy | None = None
    value: float = Field(ge=0, le=EM_VALUE_MAX, allow_inf_nan=False)
    unit: Name
    action_limit: float = Field(ge=0, le=EM_VALUE_MAX, allow_inf_nan=False)
    alert_limit: float | None = Field(None, ge=0, le=EM_VALUE_MAX, allow_inf_nan=False)
    edition: Name = Field(description="the EU GMP Annex 1 edition the limits follow")
    config_version: Identifier
    window_from: BoundedDatetime
    window_to: BoundedDatetime
    batches: list[RoomBatch] = Field(default_factory=list, max_length=ROOM_BATCHES_MAX)
    batch_count: Count = Field(description="all batches concerned (batches lists the first)")
    actor: Actor
