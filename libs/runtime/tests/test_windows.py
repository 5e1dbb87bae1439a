"""Windows around the clock for reported times and planned dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from v2v_runtime.errors import DomainError
from v2v_runtime.service import ServiceSettings
from v2v_runtime.windows import ReportedTimeWindow, check_date_within

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
WINDOW = ReportedTimeWindow(future_tolerance=timedelta(minutes=5), max_age=timedelta(days=90))


@pytest.mark.parametrize(
    "value", [NOW, NOW + timedelta(minutes=5), NOW - timedelta(days=90), NOW - timedelta(hours=1)]
)
def test_times_within_the_window_pass(value: datetime) -> None:
    WINDOW.check(value, NOW, field="picked_up_at", what="pickup")


@pytest.mark.requirement("21CFR11.10(e)", "EU-PartIV.6.1")
@pytest.mark.parametrize(
    ("value", "code"),
    [
        (NOW + timedelta(minutes=5, seconds=1), "pickup-in-future"),
        (datetime(2199, 12, 31, tzinfo=UTC), "pickup-in-future"),
        (NOW - timedelta(days=90, seconds=1), "pickup-too-old"),
        (datetime(2000, 1, 1, tzinfo=UTC), "pickup-too-old"),
    ],
)
def test_times_outside_the_window_are_refused_naming_the_field(value: datetime, code: str) -> None:
    with pytest.raises(DomainError) as refused:
        WINDOW.check(value, NOW, field="picked_up_at", what="pickup")
    assert refused.value.code == code
    assert refused.value.status == 422
    assert refused.value.extra["field"] == "picked_up_at"
    assert "picked_up_at" in refused.value.detail


def test_a_window_needs_a_positive_age() -> None:
    with pytest.raises(ValueError, match="maximum age"):
        ReportedTimeWindow(future_tolerance=timedelta(0), max_age=timedelta(0))


def test_the_window_is_configuration() -> None:
    settings = ServiceSettings(future_tolerance_minutes=1, reported_time_max_age_days=7)
    assert settings.reported_times == ReportedTimeWindow(timedelta(minutes=1), timedelta(days=7))


def test_dates_within_a_range() -> None:
    first, last = date(2026, 11, 24), date(2027, 5, 23)
    check_date_within(first, first, last, field="earliest_collection", code="c")
    check_date_within(last, first, last, field="earliest_collection", code="c")
    for day in (date(1900, 1, 1), date(9999, 12, 31), first - timedelta(days=1)):
        with pytest.raises(DomainError) as refused:
            check_date_within(day, first, last, field="earliest_collection", code="c")
        assert refused.value.code == "c"
        assert refused.value.extra["field"] == "earliest_collection"


@pytest.mark.requirement("21CFR11.10(e)", "EU-PartIV.6.1")
def test_an_entry_recorded_beyond_the_gap_is_late() -> None:
    window = ReportedTimeWindow(timedelta(minutes=5), timedelta(days=90), timedelta(minutes=60))
    assert not window.is_late(NOW - timedelta(minutes=60), NOW)  # at the gap: on time
    assert window.is_late(NOW - timedelta(minutes=60, seconds=1), NOW)
    assert not window.is_late(NOW + timedelta(minutes=3), NOW)  # clock skew ahead: on time
    with pytest.raises(ValueError, match="late-entry gap"):
        ReportedTimeWindow(timedelta(0), timedelta(days=1), timedelta(0))


@pytest.mark.requirement("21CFR11.10(e)")
def test_the_late_entry_gap_is_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServiceSettings().reported_times.late_after == timedelta(minutes=60)
    monkeypatch.setenv("V2V_LATE_ENTRY_MINUTES", "15")
    assert ServiceSettings().reported_times.late_after == timedelta(minutes=15)
