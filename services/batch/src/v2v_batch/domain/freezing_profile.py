"""Controlled-rate freezing profiles (configuration, never code): the programmed segments
from a start temperature — holds and ramps at a rate to a temperature — and around the
temperature they program, per segment and probe, the tolerance band a recorded curve must
stay in. Pure: the expected temperature and the band at any time of a run are functions of
the profile alone.

After the last segment the freezer holds its last temperature (until the bags are moved to
vapour-phase LN2): a reading later than the programmed end is held to the last band."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from v2v_runtime.errors import DomainError

# A profile id is what MBR steps name (e.g. CART-CRF-01).
PROFILE_ID_PATTERN = r"^[A-Z0-9][A-Z0-9._-]{0,63}$"


class Probe(StrEnum):
    CHAMBER = "chamber"  # the freezer's chamber (air) probe
    SAMPLE = "sample"  # the probe in a sample bag or vial beside the product


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProbeBand(_Frozen):
    """How far below and above the programmed temperature a probe's reading may be."""

    below_c: float = Field(ge=0, le=100, allow_inf_nan=False)
    above_c: float = Field(ge=0, le=100, allow_inf_nan=False)


class Segment(_Frozen):
    """A hold (``hold_minutes`` at the temperature reached) or a ramp (``rate_c_per_min``,
    negative to cool, to ``to_c``), with the band of each probe compared."""

    name: str = Field(min_length=1, max_length=200)
    hold_minutes: float | None = Field(None, gt=0, le=24 * 60, allow_inf_nan=False)
    rate_c_per_min: float | None = Field(None, ge=-100, le=100, allow_inf_nan=False)
    to_c: float | None = Field(None, ge=-273.15, le=100, allow_inf_nan=False)
    band: dict[Probe, ProbeBand] = Field(min_length=1)

    @model_validator(mode="after")
    def _hold_or_ramp(self) -> Self:
        ramp = self.rate_c_per_min is not None or self.to_c is not None
        if ramp == (self.hold_minutes is not None):
            raise ValueError("a segment is a hold (hold_minutes) or a ramp (rate_c_per_min, to_c)")
        if ramp and (self.rate_c_per_min is None or self.to_c is None or not self.rate_c_per_min):
            raise ValueError("a ramp has a rate other than 0 and the temperature it goes to")
        return self


@dataclass(frozen=True)
class Span:
    """A segment laid on the run's time axis (seconds from its start)."""

    segment: Segment
    start_s: float
    end_s: float
    from_c: float
    to_c: float

    def expected_c(self, offset_s: float) -> float:
        if self.end_s == self.start_s:
            return self.to_c
        share = (min(offset_s, self.end_s) - self.start_s) / (self.end_s - self.start_s)
        return self.from_c + (self.to_c - self.from_c) * share


@dataclass(frozen=True)
class Band:
    """The band of one probe at one time of the run."""

    segment: str
    expected_c: float
    lower_c: float
    upper_c: float

    def holds(self, temperature_c: float) -> bool:
        """On the band's edge is inside it."""
        return self.lower_c <= temperature_c <= self.upper_c


class FreezingProfile(_Frozen):
    """One version of a profile: snapshotted into each run recorded with it."""

    profile_id: str = Field(pattern=PROFILE_ID_PATTERN)
    profile_version: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    start_c: float = Field(ge=-273.15, le=100, allow_inf_nan=False)
    min_points: int = Field(10, ge=2, le=10_000, description="readings per banded probe, at least")
    segments: tuple[Segment, ...] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        probes = set(self.segments[0].band)
        at = self.start_c
        for i, s in enumerate(self.segments):
            if set(s.band) != probes:
                raise ValueError(f"segments[{i}] bands other probes than segments[0]")
            if s.rate_c_per_min is not None and s.to_c is not None:
                if (s.to_c - at) * s.rate_c_per_min <= 0:
                    raise ValueError(f"segments[{i}] ramps away from {s.to_c} °C at its rate")
                at = s.to_c
        return self

    @property
    def probes(self) -> tuple[Probe, ...]:
        """The probes the band is compared for (in a stable order)."""
        return tuple(p for p in Probe if p in self.segments[0].band)

    def spans(self) -> list[Span]:
        spans, t, at = [], 0.0, self.start_c
        for s in self.segments:
            if s.hold_minutes is not None:
                end, to = t + s.hold_minutes * 60, at
            else:
                assert s.rate_c_per_min is not None and s.to_c is not None
                end, to = t + (s.to_c - at) / s.rate_c_per_min * 60, s.to_c
            spans.append(Span(s, t, end, at, to))
            t, at = end, to
        return spans

    @property
    def programmed_s(self) -> float:
        """How long the programme runs, in seconds."""
        return self.spans()[-1].end_s

    def band_at(self, probe: Probe, offset_s: float, spans: list[Span] | None = None) -> Band:
        """The band of ``probe`` ``offset_s`` seconds into the run (a time on the border of
        two segments belongs to the later one; after the programme, the last one's)."""
        spans = spans or self.spans()
        span = next((s for s in spans if s.start_s <= offset_s < s.end_s), spans[-1])
        if offset_s < 0:
            span = spans[0]
        expected = span.expected_c(max(offset_s, 0.0))
        tolerance = span.segment.band[probe]
        return Band(
            segment=span.segment.name,
            expected_c=expected,
            lower_c=expected - tolerance.below_c,
            upper_c=expected + tolerance.above_c,
        )


class ProbeRange(_Frozen):
    """The physical range of a reading: beyond it, a probe or transfer fault, not a
    temperature the product had."""

    min_c: float = Field(ge=-273.15, allow_inf_nan=False)
    max_c: float = Field(le=1000, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_c >= self.max_c:
            raise ValueError("min_c is below max_c")
        return self


class FreezingProfiles:
    """The profiles of the configuration, by id, and the probes' physical range."""

    def __init__(
        self, profiles: Mapping[str, FreezingProfile], probe_range: ProbeRange, version: str
    ) -> None:
        self._profiles = dict(profiles)
        self.probe_range = probe_range
        self.version = version

    def get(self, profile_id: str) -> FreezingProfile:
        found = self._profiles.get(profile_id)
        if found is None:
            raise DomainError(
                "freezing-profile-unknown",
                f"no freezing profile {profile_id!r} in configuration {self.version}",
                field="profile_id",
            )
        return found

    @property
    def ids(self) -> list[str]:
        return sorted(self._profiles)
