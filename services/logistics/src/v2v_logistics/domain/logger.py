"""The data logger of a shipment: its readings and the summary that flags excursions.

An excursion is a reading outside the temperature class's limits, a data gap longer than
allowed between two consecutive readings, or a tilt/shock alarm. It is flagged and
described, never hidden or smoothed away.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import BoundedDatetime, Temperature

from .network import TemperatureLimits


class Reading(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    at: BoundedDatetime
    temperature_c: Temperature


class LoggerReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min_c: float
    max_c: float
    readings: int = Field(ge=0)
    excursion: bool
    excursion_detail: str | None = None


def _at(t: datetime) -> str:
    return t.isoformat()


def summarise(
    readings: Sequence[Reading],
    limits: TemperatureLimits,
    max_gap_minutes: float,
    *,
    tilt_alarm: bool = False,
    shock_alarm: bool = False,
) -> LoggerReport:
    """Summarise at least one reading (the caller refuses a delivery without any)."""
    if not readings:
        raise ValueError("a logger summary needs at least one reading")
    ordered = sorted(readings, key=lambda r: r.at)
    coldest = min(ordered, key=lambda r: r.temperature_c)
    warmest = max(ordered, key=lambda r: r.temperature_c)
    findings: list[str] = []

    if limits.max_c is not None:
        above = [r for r in ordered if r.temperature_c > limits.max_c]
        if above:
            findings.append(
                f"{len(above)} of {len(ordered)} readings above {limits.max_c} °C "
                f"(warmest {warmest.temperature_c} °C at {_at(warmest.at)})"
            )
    if limits.min_c is not None:
        below = [r for r in ordered if r.temperature_c < limits.min_c]
        if below:
            findings.append(
                f"{len(below)} of {len(ordered)} readings below {limits.min_c} °C "
                f"(coldest {coldest.temperature_c} °C at {_at(coldest.at)})"
            )

    gaps = [
        (earlier, later)
        for earlier, later in pairwise(ordered)
        if (later.at - earlier.at).total_seconds() > max_gap_minutes * 60
    ]
    if gaps:
        earlier, later = max(gaps, key=lambda g: g[1].at - g[0].at)
        minutes = (later.at - earlier.at).total_seconds() / 60
        findings.append(
            f"{len(gaps)} data gap(s) longer than {max_gap_minutes:g} min "
            f"(longest {minutes:g} min, {_at(earlier.at)} to {_at(later.at)})"
        )
    if tilt_alarm:
        findings.append("tilt alarm")
    if shock_alarm:
        findings.append("shock alarm")

    return LoggerReport(
        min_c=coldest.temperature_c,
        max_c=warmest.temperature_c,
        readings=len(ordered),
        excursion=bool(findings),
        excursion_detail="; ".join(findings) or None,
    )
