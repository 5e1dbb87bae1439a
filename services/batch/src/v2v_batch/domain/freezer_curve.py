"""A controlled-rate freezer's recorded curve — readings of the chamber and/or sample probe
at seconds from the run's start — checked as entered (in time order, within the run and the
probes' physical range, enough readings) and compared with its profile's band: each stretch
of consecutive readings of a probe outside the band is an excursion, with its worst reading.
A curve that stops before the programme's end did not complete it. Pure functions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from .entries import EntryRefused
from .freezing_profile import Band, FreezingProfile, Probe, ProbeRange

POINTS_MAX = 10_000  # a 3 h run logged every 2 s has 5,400


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CurvePoint(_Frozen):
    offset_s: float = Field(allow_inf_nan=False, description="seconds from the run's start")
    chamber_c: float | None = Field(None, allow_inf_nan=False, description="°C")
    sample_c: float | None = Field(None, allow_inf_nan=False, description="°C")

    def reading(self, probe: Probe) -> float | None:
        return self.chamber_c if probe is Probe.CHAMBER else self.sample_c


class Reading(_Frozen):
    """A reading outside its band, with the band then."""

    probe: Probe
    offset_s: float
    temperature_c: float
    segment: str
    expected_c: float
    lower_c: float
    upper_c: float

    @property
    def outside_by_c(self) -> float:
        return max(self.lower_c - self.temperature_c, self.temperature_c - self.upper_c)

    def text(self) -> str:
        return (
            f"{self.probe.value} {self.temperature_c:g} °C at {minutes(self.offset_s)} "
            f"outside {band_text(self.lower_c, self.upper_c)} ({self.segment})"
        )


class Excursion(_Frozen):
    """Consecutive readings of one probe outside the band: from the first to the last."""

    probe: Probe
    from_s: float
    to_s: float
    readings: int = Field(ge=1)
    first: Reading
    worst: Reading


class BandComparison(_Frozen):
    in_band: bool = Field(description="no excursion and the programme completed")
    excursions: tuple[Excursion, ...] = ()
    programmed_s: float
    curve_ends_s: float
    completed: bool = Field(description="the curve reaches the programme's end")

    @property
    def first(self) -> Excursion | None:
        return min(self.excursions, key=lambda e: (e.from_s, e.probe), default=None)

    @property
    def worst(self) -> Excursion | None:
        return max(self.excursions, key=lambda e: e.worst.outside_by_c, default=None)


def minutes(offset_s: float) -> str:
    return f"{offset_s / 60:.1f} min"


def band_text(lower_c: float, upper_c: float) -> str:
    return f"{lower_c:.1f} to {upper_c:.1f} °C"


def checked_curve(
    points: Sequence[CurvePoint],
    profile: FreezingProfile,
    probe_range: ProbeRange,
    run_s: float,
) -> tuple[CurvePoint, ...]:
    """The curve as recorded, or refused (422 naming the point) when a reading is out of
    the physical range, the times do not strictly increase or fall outside the run
    (``run_s`` seconds long), or a probe the profile bands has too few readings."""
    previous: float | None = None
    for i, p in enumerate(points):
        where = f"curve[{i}]"
        if p.chamber_c is None and p.sample_c is None:
            raise EntryRefused("curve-point-empty", where, "no chamber nor sample reading")
        for probe in Probe:
            value = p.reading(probe)
            if value is not None and not probe_range.min_c <= value <= probe_range.max_c:
                raise EntryRefused(
                    "curve-out-of-range",
                    f"{where}.{probe.value}_c",
                    f"{value:g} °C is outside the probes' physical range "
                    f"{band_text(probe_range.min_c, probe_range.max_c)}",
                )
        if previous is not None and p.offset_s <= previous:
            raise EntryRefused(
                "curve-out-of-order",
                f"{where}.offset_s",
                f"{p.offset_s:g} s does not follow {previous:g} s: times strictly increase",
            )
        if not 0 <= p.offset_s <= run_s:
            raise EntryRefused(
                "curve-outside-run",
                f"{where}.offset_s",
                f"{p.offset_s:g} s is outside the run (0 to {run_s:g} s from started_at)",
            )
        previous = p.offset_s
    for probe in profile.probes:
        count = sum(1 for p in points if p.reading(probe) is not None)
        if count < profile.min_points:
            raise EntryRefused(
                "curve-too-few-points",
                "curve",
                f"{count} {probe.value} reading(s): profile {profile.profile_id} compares "
                f"at least {profile.min_points}",
            )
    return tuple(points)


def _reading(probe: Probe, p: CurvePoint, value: float, band: Band) -> Reading:
    return Reading(
        probe=probe,
        offset_s=p.offset_s,
        temperature_c=value,
        segment=band.segment,
        expected_c=band.expected_c,
        lower_c=band.lower_c,
        upper_c=band.upper_c,
    )


def compare(profile: FreezingProfile, curve: Sequence[CurvePoint]) -> BandComparison:
    """Every reading of every banded probe against the band at its time (on the edge is
    inside); a point without that probe's reading neither starts nor ends an excursion."""
    spans = profile.spans()
    excursions: list[Excursion] = []
    for probe in profile.probes:
        current: Excursion | None = None
        for p in curve:
            value = p.reading(probe)
            if value is None:
                continue
            band = profile.band_at(probe, p.offset_s, spans)
            if band.holds(value):
                if current is not None:
                    excursions.append(current)
                current = None
                continue
            out = _reading(probe, p, value, band)
            if current is None:
                current = Excursion(
                    probe=probe,
                    from_s=p.offset_s,
                    to_s=p.offset_s,
                    readings=1,
                    first=out,
                    worst=out,
                )
            else:
                worse = out.outside_by_c > current.worst.outside_by_c
                current = current.model_copy(
                    update={
                        "to_s": p.offset_s,
                        "readings": current.readings + 1,
                        "worst": out if worse else current.worst,
                    }
                )
        if current is not None:
            excursions.append(current)
    excursions.sort(key=lambda e: (e.from_s, e.probe))
    ends = curve[-1].offset_s if curve else 0.0
    programmed = spans[-1].end_s
    completed = ends >= programmed
    return BandComparison(
        in_band=not excursions and completed,
        excursions=tuple(excursions),
        programmed_s=programmed,
        curve_ends_s=ends,
        completed=completed,
    )


def curve_digest(curve: Sequence[CurvePoint]) -> str:
    """SHA-256 of the curve as recorded (what its performer signs, with its point count)."""
    canonical = json.dumps(
        [p.model_dump(mode="json") for p in curve], separators=(",", ":"), sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
