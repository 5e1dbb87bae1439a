"""The deviation policy (versioned configuration, one per site): closure targets per class in
working days from opening, the holidays that are not working days, the regulatory report's
clock in calendar days from discovery, the root-cause categories an investigation chooses
from, and the time zone whose calendar dates these are counted in."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .events import Classification
from .working_days import add_working_days


class DeviationPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    closure_working_days: dict[Classification, int] = Field(
        description="closure target per class: working days (Mon-Fri) from the opening date"
    )
    holidays: frozenset[date] = Field(
        default=frozenset(), description="dates that are not working days (optional)"
    )
    report_calendar_days: int = Field(
        45,
        ge=1,
        description="a reportable deviation's report is due this many calendar days after "
        "discovery (US biological product deviation report, 21 CFR 600.14(b): 45)",
    )
    root_cause_categories: tuple[str, ...] = Field(min_length=1)
    time_zone: str = Field("UTC", description="the site's calendar (IANA time zone)")

    @field_validator("closure_working_days")
    @classmethod
    def _every_class(cls, v: dict[Classification, int]) -> dict[Classification, int]:
        missing = sorted(set(Classification) - set(v))
        if missing:
            raise ValueError(f"no closure target for {', '.join(missing)}")
        if any(days < 1 for days in v.values()):
            raise ValueError("closure targets are at least one working day")
        return v

    @field_validator("root_cause_categories")
    @classmethod
    def _distinct(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v) or any(not c.strip() for c in v):
            raise ValueError("root-cause categories are distinct and not blank")
        return v

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    def local_date(self, at: datetime) -> date:
        """The site's calendar date at ``at``."""
        return at.astimezone(ZoneInfo(self.time_zone)).date()

    def closure_due(self, opened_at: datetime, classification: Classification) -> date:
        """The last day for closing a deviation of this class opened at ``opened_at``."""
        days = self.closure_working_days[classification]
        return add_working_days(self.local_date(opened_at), days, self.holidays)

    def report_due(self, discovered_at: datetime) -> date:
        """The last day for the regulatory report of a deviation discovered then."""
        return self.local_date(discovered_at) + timedelta(days=self.report_calendar_days)
