"""Freezer curves for the tests: a run of the shipped CAR-T profile as a freezer logs it,
with the sample and chamber where the programme puts them, and ways to spoil it."""

from __future__ import annotations

from typing import Any

from v2v_batch.adapters.freezing_profiles import load_profiles
from v2v_batch.domain.freezer_curve import CurvePoint
from v2v_batch.domain.freezing_profile import FreezingProfile

PROFILES = load_profiles()
CART = PROFILES.get("CART-CRF-01")  # 69 min: +4 °C 10 min, -1 °C/min to -40, -10 to -90, hold
EVERY_S = 30.0


def ideal(
    profile: FreezingProfile = CART, *, every_s: float = EVERY_S, until_s: float | None = None
) -> list[CurvePoint]:
    """Readings every ``every_s`` seconds until ``until_s`` (the programme's end and one
    more minute), both probes on the programmed temperature (the sample 1 °C warmer)."""
    end = profile.programmed_s + 60 if until_s is None else until_s
    spans = profile.spans()
    points, t = [], 0.0
    while t <= end:
        expected = next(s for s in reversed(spans) if s.start_s <= t).expected_c(t)
        points.append(
            CurvePoint(offset_s=t, chamber_c=round(expected, 3), sample_c=round(expected + 1, 3))
        )
        t += every_s
    return points


def warmed(
    points: list[CurvePoint], from_s: float, to_s: float, by_c: float, probe: str = "sample"
) -> list[CurvePoint]:
    """The curve with ``probe`` ``by_c`` warmer from ``from_s`` to ``to_s`` (inclusive)."""
    field = f"{probe}_c"
    return [
        p.model_copy(update={field: getattr(p, field) + by_c})
        if from_s <= p.offset_s <= to_s
        else p
        for p in points
    ]


def as_json(points: list[CurvePoint]) -> list[dict[str, Any]]:
    return [p.model_dump(mode="json", exclude_none=True) for p in points]
