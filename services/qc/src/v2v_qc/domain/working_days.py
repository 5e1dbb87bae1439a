"""Working days (Monday to Friday, less configured holidays): the clock of a deviation's
closure target. Pure date arithmetic; the opening day itself is never counted."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


def is_working_day(day: date, holidays: Collection[date] = ()) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: date, days: int, holidays: Collection[date] = ()) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself when ``days`` is 0)."""
    if days < 0:
        raise ValueError(f"a number of working days is not negative: {days}")
    day, left = start, days
    while left:
        day += ONE_DAY
        if is_working_day(day, holidays):
            left -= 1
    return day


def working_days_between(start: date, end: date, holidays: Collection[date] = ()) -> int:
    """The working days after ``start`` up to and including ``end`` (0 when ``end`` is not
    after ``start``): how many working days late something due on ``start`` is at ``end``."""
    count, day = 0, start
    while day < end:
        day += ONE_DAY
        if is_working_day(day, holidays):
            count += 1
    return count
