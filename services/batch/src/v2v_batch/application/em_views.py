"""What the batch service shows of clean rooms and environmental monitoring: the room
register, results with how each was classified (and whether it completes an alert trend),
a room's trend now, and the excursions a batch record shows per step."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from .who import Who


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class RoomView(_View):
    room_id: str
    name: str
    grade: str = Field(description="EU GMP Annex 1 grade: A, B, C or D")
    site: str
    registered_at: datetime
    registered_by: str


class LimitsView(_View):
    basis: str = Field(description="set | not-predetermined | no-limit")
    action: float | None = None
    alert: float | None = None
    text: str


class TrendRuleView(_View):
    alerts: int
    samples: int


class EmCorrection(_View):
    old_value: float
    new_value: float
    old_level: str
    new_level: str
    reason: str
    corrected_by: Who
    corrected_at: datetime


class EmResultView(_View):
    result_id: str
    room_id: str
    site: str
    grade: str
    sample_type: str
    sample_id: str
    location: str
    sampled_at: datetime
    read_at: datetime
    occupancy: str | None
    value: float
    unit: str
    level: str = Field(description="within | alert | action | no-limit")
    limits: LimitsView
    edition: str = Field(description="the EU GMP Annex 1 edition the limits follow")
    config_version: str
    trend_rule: TrendRuleView
    alert_trend: bool = Field(
        False, description="completes an alert trend (trend_rule) of its room and sample type"
    )
    impact_from: datetime = Field(description="batch steps overlapping impact_from .. impact_to")
    impact_to: datetime
    comment: str | None = None
    recorded_at: datetime
    recorded_by: Who
    late: bool = False
    changed_after_entry: bool = False
    corrections: list[EmCorrection] = Field(default_factory=list)


class SampleTypeTrend(_View):
    sample_type: str
    rule: TrendRuleView
    recent: list[EmResultView] = Field(description="the newest samples the rule looks at")
    alerts: int = Field(description="of them, above the alert limit (alert or action)")
    trending: bool


class RoomTrend(_View):
    room: RoomView
    edition: str
    sample_types: list[SampleTypeTrend]
