"""Windows around the service's clock for what people report or plan.

The contracts bound every date to a fixed range (v2v_events.bounds); these windows are the
domain's tighter, configured bounds relative to "now": a time a person reports (collection
end, courier pickup, infusion, a manufacturing step) is not meant to lie in the future
beyond clock skew, nor further back than the configured age. A time within the window but
more than ``late_after`` before the moment it is recorded makes a late entry: accepted, and
marked ``late`` in the event (the audit trail and read models show it). Pure: no I/O, clock
passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .errors import DomainError


@dataclass(frozen=True)
class ReportedTimeWindow:
    future_tolerance: timedelta  # clock skew between the reporter and the service
    max_age: timedelta  # how late a time may still be reported
    late_after: timedelta = timedelta(minutes=60)  # recorded later than this: a late entry

    def __post_init__(self) -> None:
        if self.future_tolerance < timedelta(0) or self.max_age <= timedelta(0):
            raise ValueError("the future tolerance must be >= 0 and the maximum age > 0")
        if self.late_after <= timedelta(0):
            raise ValueError("the late-entry gap must be > 0")

    def is_late(self, observed: datetime, now: datetime) -> bool:
        """Whether ``observed`` (the latest time the entry reports) is recorded at ``now``
        more than the configured gap after it happened."""
        return now - observed > self.late_after

    def check(self, value: datetime, now: datetime, *, field: str, what: str) -> None:
        """Refuse ``value`` (named ``field``) unless it lies within the window: codes
        ``<what>-in-future`` and ``<what>-too-old``."""
        self.check_not_future(value, now, field=field, what=what)
        self.check_not_too_old(value, now, field=field, what=what)

    def check_not_future(self, value: datetime, now: datetime, *, field: str, what: str) -> None:
        if value > now + self.future_tolerance:
            raise DomainError(
                f"{what}-in-future",
                f"{field} {value.isoformat()} lies in the future (the service's clock reads "
                f"{now.isoformat()})",
                field=field,
            )

    def check_not_too_old(self, value: datetime, now: datetime, *, field: str, what: str) -> None:
        if value < now - self.max_age:
            raise DomainError(
                f"{what}-too-old",
                f"{field} {value.isoformat()} lies more than {self.max_age.days} days in the "
                "past: too late to report",
                field=field,
            )


def check_date_within(value: date, first: date, last: date, *, field: str, code: str) -> None:
    """Refuse ``value`` (named ``field``) outside ``first .. last`` with the problem ``code``."""
    if not first <= value <= last:
        raise DomainError(
            code,
            f"{field} {value.isoformat()} must lie between {first.isoformat()} and "
            f"{last.isoformat()}",
            field=field,
            earliest=first.isoformat(),
            latest=last.isoformat(),
        )
