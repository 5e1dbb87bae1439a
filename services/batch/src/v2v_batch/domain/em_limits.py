"""Environmental monitoring limits (EU GMP Annex 1): the site's programme as configuration
— the Annex 1 edition it follows, its sample types, the action limits per clean-room grade
and sample type (the Annex's), the site's alert limits below them, the alert-trend rule and
the impact window — and classifying a result against them.

A result above its action limit is an action excursion (a deviation), above its alert limit
an alert; Grade A's "no growth" is an action limit of 0, so one colony is an excursion.
Limits the Annex leaves open are kept as such: ``not-predetermined`` (Grade D particles in
operation) and ``no-limit`` (e.g. glove prints outside Grade A/B): such a result is
recorded and classified ``no-limit``. Particle limits depend on the room's occupancy (at
rest / in operation), viable ones do not."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from v2v_runtime.errors import DomainError

SAMPLE_TYPE_PATTERN = r"^[a-z][a-z0-9.-]{0,63}$"  # e.g. settle-plate, particles-0.5um
# Counts and concentrations a result may carry (particles/m³ of a Grade D room in operation
# are millions): bounded so that every consumer's arithmetic stays finite.
VALUE_MAX = 1e12


class Grade(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class Occupancy(StrEnum):
    AT_REST = "at-rest"
    IN_OPERATION = "in-operation"


class SampleKind(StrEnum):
    VIABLE = "viable"  # colonies: one limit per grade
    PARTICLES = "total-particles"  # particle counts: limits per occupancy state


class Level(StrEnum):
    WITHIN = "within"
    ALERT = "alert"  # above the site's alert limit
    ACTION = "action"  # above the action limit: an excursion QC opens a deviation for
    NO_LIMIT = "no-limit"  # no limit applies (not predetermined, or none for this grade)


EXCEEDS_ALERT = frozenset({Level.ALERT, Level.ACTION})


class Unlimited(StrEnum):
    NOT_PREDETERMINED = "not-predetermined"
    NO_LIMIT = "no-limit"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Limit(_Frozen):
    """An action limit and the site's alert limit below it (None: no alert level, e.g.
    Grade A where any growth is an action)."""

    action: float = Field(ge=0, le=VALUE_MAX, allow_inf_nan=False)
    alert: float | None = Field(None, ge=0, le=VALUE_MAX, allow_inf_nan=False)

    @model_validator(mode="after")
    def _alert_below_action(self) -> Self:
        if self.alert is not None and not self.alert < self.action:
            raise ValueError(f"alert limit {self.alert} is not below action limit {self.action}")
        return self


LimitEntry = Limit | Unlimited
GradeEntry = Limit | Unlimited | dict[Occupancy, Limit | Unlimited]


class AppliedLimit(_Frozen):
    """The limits a result was classified against, kept with it (a later configuration
    does not change how it was classified)."""

    basis: Literal["set", "not-predetermined", "no-limit"]
    action: float | None = None
    alert: float | None = None

    @classmethod
    def of(cls, entry: LimitEntry) -> AppliedLimit:
        if isinstance(entry, Unlimited):
            return cls(basis=entry.value)
        return cls(basis="set", action=entry.action, alert=entry.alert)

    def text(self, unit: str) -> str:
        if self.basis != "set":
            return self.basis.replace("-", " ")
        action = "no growth" if self.action == 0 else f"action > {self.action:g} {unit}"
        alert = "" if self.alert is None else f", alert > {self.alert:g} {unit}"
        return action + alert


def classify(value: float, limit: AppliedLimit) -> Level:
    """Above the action limit: action; else above the alert limit: alert; else within."""
    if limit.basis != "set" or limit.action is None:
        return Level.NO_LIMIT
    if value > limit.action:
        return Level.ACTION
    if limit.alert is not None and value > limit.alert:
        return Level.ALERT
    return Level.WITHIN


class SampleType(_Frozen):
    label: str = Field(min_length=1, max_length=200)
    kind: SampleKind
    # The units a result may be given in; the first is how it is recorded.
    units: tuple[Annotated[str, StringConstraints(min_length=1, max_length=64)], ...] = Field(
        min_length=1
    )


class TrendRule(_Frozen):
    """An alert trend: ``alerts`` results above the alert limit (alert or action) among
    ``samples`` consecutive samples of a room and sample type."""

    alerts: int = Field(ge=2, le=100)
    samples: int = Field(ge=2, le=100)

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if self.alerts > self.samples:
            raise ValueError("a trend cannot ask for more alerts than samples")
        return self


class EmProgramme(_Frozen):
    """The site's environmental monitoring programme (configuration
    ``v2v-batch-em/1``)."""

    format: Literal["v2v-batch-em/1"]
    config_version: str = Field(min_length=1, max_length=64)
    edition: str = Field(min_length=1, max_length=200, description="e.g. EU GMP Annex 1 (2022)")
    # A result concerns the batches whose steps in its room overlap sampled_at ± this.
    impact_window_hours: float = Field(gt=0, le=14 * 24, allow_inf_nan=False)
    trend: TrendRule
    sample_types: dict[str, SampleType]
    limits: dict[Grade, dict[str, GradeEntry]]

    @model_validator(mode="after")
    def _complete(self) -> Self:
        for name in self.sample_types:
            if re.fullmatch(SAMPLE_TYPE_PATTERN, name) is None:
                raise ValueError(f"sample type {name!r} must match {SAMPLE_TYPE_PATTERN}")
        missing = [g.value for g in Grade if g not in self.limits]
        if missing:
            raise ValueError(f"limits for grade(s) {', '.join(missing)} are missing")
        for grade, entries in self.limits.items():
            if set(entries) != set(self.sample_types):
                raise ValueError(
                    f"grade {grade.value} must give a limit for each sample type "
                    f"({', '.join(sorted(self.sample_types))}) and none other"
                )
            for name, entry in entries.items():
                per_state = isinstance(entry, dict)
                if (self.sample_types[name].kind is SampleKind.PARTICLES) != per_state:
                    raise ValueError(
                        f"grade {grade.value} {name}: particle limits are given per occupancy "
                        "(at-rest, in-operation), viable limits once"
                    )
                if isinstance(entry, dict) and set(entry) != set(Occupancy):
                    raise ValueError(f"grade {grade.value} {name}: both occupancy states")
        return self

    @property
    def impact_window(self) -> timedelta:
        return timedelta(hours=self.impact_window_hours)

    def sample_type(self, name: str) -> SampleType:
        found = self.sample_types.get(name)
        if found is None:
            raise DomainError(
                "sample-type-unknown",
                f"{name!r} is not a sample type of the programme "
                f"({', '.join(sorted(self.sample_types))})",
                field="sample_type",
            )
        return found

    def unit_of(self, name: str, unit: str) -> str:
        """The unit a result of sample type ``name`` is recorded in (422 for another)."""
        spec = self.sample_type(name)
        if unit not in spec.units:
            raise DomainError(
                "unit-mismatch",
                f"a {name} result is given in {' or '.join(spec.units)}, not {unit!r}",
                field="unit",
                expected=spec.units[0],
            )
        return spec.units[0]

    def limit_for(self, grade: Grade, name: str, occupancy: Occupancy | None) -> AppliedLimit:
        """The limits of a ``name`` sample in a room of ``grade`` (particles: in the room's
        ``occupancy`` state then, required)."""
        self.sample_type(name)
        entry = self.limits[grade][name]
        if isinstance(entry, dict):
            if occupancy is None:
                raise DomainError(
                    "occupancy-required",
                    f"{name} limits depend on the room's occupancy: at-rest or in-operation",
                    field="occupancy",
                )
            entry = entry[occupancy]
        return AppliedLimit.of(entry)


def check_value(value: float) -> None:
    if not (math.isfinite(value) and 0 <= value <= VALUE_MAX):
        raise DomainError(
            "value-out-of-range", f"a result is between 0 and {VALUE_MAX:g}", field="value"
        )
