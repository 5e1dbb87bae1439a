"""The closure target's clock (working days, Monday to Friday less configured holidays) and
the deviation policy that configures it, with the report's clock in calendar days."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from v2v_qc.adapters.config import SpecFileError, load_deviation_policy
from v2v_qc.domain.deviation_policy import DeviationPolicy
from v2v_qc.domain.events import Classification
from v2v_qc.domain.working_days import (
    add_working_days,
    is_working_day,
    working_days_between,
)

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
holiday_sets = st.frozensets(st.dates(min_value=date(2020, 1, 1), max_value=date(2036, 6, 30)))


def test_working_days_skip_weekends_and_holidays() -> None:
    friday = date(2026, 11, 20)
    assert add_working_days(friday, 1) == date(2026, 11, 23)  # Monday
    assert add_working_days(friday, 5) == date(2026, 11, 27)
    assert add_working_days(friday, 0) == friday
    saturday = date(2026, 11, 21)
    assert add_working_days(saturday, 1) == date(2026, 11, 23)  # the weekend does not count
    christmas = {date(2026, 12, 24), date(2026, 12, 25)}
    assert add_working_days(date(2026, 12, 23), 1, christmas) == date(2026, 12, 28)
    # the typical targets from a Tuesday: three, four and six weeks
    tuesday = date(2026, 11, 24)
    assert add_working_days(tuesday, 15) == date(2026, 12, 15)
    assert add_working_days(tuesday, 20) == date(2026, 12, 22)
    assert add_working_days(tuesday, 30) == date(2027, 1, 5)
    assert working_days_between(friday, date(2026, 11, 23)) == 1
    assert working_days_between(friday, saturday) == 0
    assert working_days_between(friday, friday - timedelta(days=3)) == 0
    with pytest.raises(ValueError):
        add_working_days(friday, -1)


@given(days, st.integers(min_value=1, max_value=120), holiday_sets)
def test_the_target_is_a_working_day_that_many_working_days_later(
    start: date, n: int, holidays: frozenset[date]
) -> None:
    due = add_working_days(start, n, holidays)
    assert is_working_day(due, holidays)
    assert working_days_between(start, due, holidays) == n
    # the day before it is still within the target: one working day fewer has passed
    assert working_days_between(start, due - timedelta(days=1), holidays) == n - 1


@given(days, st.integers(min_value=0, max_value=120), holiday_sets)
def test_one_more_working_day_is_later(start: date, n: int, holidays: frozenset[date]) -> None:
    assert add_working_days(start, n + 1, holidays) > add_working_days(start, n, holidays)


@given(days, st.integers(min_value=1, max_value=120))
def test_without_holidays_five_working_days_are_a_week(start: date, n: int) -> None:
    assert add_working_days(start, n + 5) == add_working_days(start, n) + timedelta(days=7)


@given(days, st.integers(min_value=0, max_value=400))
def test_working_days_between_counts_no_more_than_the_days(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    counted = working_days_between(start, end)
    assert counted <= span
    assert counted >= span * 5 // 7 - 2  # Monday to Friday: five in every seven, give or take


def policy(**over: object) -> DeviationPolicy:
    body: dict[str, object] = {
        "version": 1,
        "closure_working_days": {"critical": 15, "major": 20, "minor": 30},
        "root_cause_categories": ["people", "process"],
        **over,
    }
    return DeviationPolicy.model_validate(body)


def test_the_policy_dates_targets_from_the_opening_in_its_time_zone() -> None:
    p = policy(holidays=["2026-12-08"], time_zone="Europe/Berlin")
    # Monday 23:30 UTC is already Tuesday in Berlin: the count starts from Tuesday
    opened = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert p.local_date(opened) == date(2026, 11, 24)
    assert p.closure_due(opened, Classification.CRITICAL) == date(2026, 12, 16)  # a holiday
    assert p.report_due(opened) == date(2027, 1, 8)  # 45 calendar days (21 CFR 600.14)


@pytest.mark.parametrize(
    "over",
    [
        {"closure_working_days": {"critical": 15, "major": 20}},
        {"closure_working_days": {"critical": 0, "major": 20, "minor": 30}},
        {"root_cause_categories": []},
        {"root_cause_categories": ["people", "people"]},
        {"time_zone": "Mars/Olympus_Mons"},
        {"report_calendar_days": 0},
    ],
)
def test_a_wrong_policy_is_refused(over: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        policy(**over)


def test_the_packaged_policy_and_a_sites_own(tmp_path: Path) -> None:
    packaged = load_deviation_policy()
    assert packaged.closure_working_days == {
        Classification.CRITICAL: 15,
        Classification.MAJOR: 20,
        Classification.MINOR: 30,
    }
    assert packaged.report_calendar_days == 45
    assert "equipment" in packaged.root_cause_categories
    own = tmp_path / "deviations.json"
    own.write_text(json.dumps({**packaged.model_dump(mode="json"), "holidays": ["2026-12-25"]}))
    assert load_deviation_policy(own).holidays == frozenset({date(2026, 12, 25)})
    own.write_text(json.dumps({"version": 1}))
    with pytest.raises(SpecFileError, match="invalid deviation policy"):
        load_deviation_policy(own)
