"""The logger summary (pure domain)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from v2v_logistics.domain.logger import Reading, summarise
from v2v_logistics.domain.network import TemperatureLimits

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
FRESH = TemperatureLimits(min_c=2.0, max_c=8.0)


def at(minutes: float, temp: float) -> Reading:
    return Reading(at=T0 + timedelta(minutes=minutes), temperature_c=temp)


def test_in_limits_and_no_gap() -> None:
    report = summarise([at(20, 5.0), at(0, 3.0), at(10, 7.9)], FRESH, 30)
    assert (report.min_c, report.max_c, report.readings) == (3.0, 7.9, 3)
    assert report.excursion is False and report.excursion_detail is None


def test_readings_are_ordered_by_time_before_gaps_are_measured() -> None:
    report = summarise([at(60, 5.0), at(0, 5.0), at(30, 5.0)], FRESH, 30)
    assert report.excursion is False  # 30 minutes apart is allowed, only longer is a gap


def test_limits_are_inclusive() -> None:
    assert summarise([at(0, 2.0), at(1, 8.0)], FRESH, 30).excursion is False
    assert summarise([at(0, 8.01)], FRESH, 30).excursion is True


@pytest.mark.requirement("EU-PartIV.10.5")
def test_every_finding_is_reported() -> None:
    report = summarise(
        [at(0, 1.5), at(10, 9.0), at(100, 5.0)], FRESH, 30, tilt_alarm=True, shock_alarm=True
    )
    assert report.excursion is True
    detail = report.excursion_detail or ""
    for part in ("above 8.0", "below 2.0", "data gap", "longest 90 min", "tilt alarm", "shock"):
        assert part in detail


def test_cryo_has_no_lower_limit() -> None:
    cryo = TemperatureLimits(max_c=-150.0)
    assert summarise([at(0, -196.0), at(5, -150.0)], cryo, 30).excursion is False
    assert summarise([at(0, -149.9)], cryo, 30).excursion is True
