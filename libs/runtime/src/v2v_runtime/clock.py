"""Clock and id generator, injected everywhere (no hidden ``datetime.now()``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Protocol

from pydantic import AfterValidator, AwareDatetime


def _representable_in_utc(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before 0001-01-01 UTC
        raise ValueError(
            "the instant lies outside 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z"
        ) from None
    return value


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_representable_in_utc)]
"""An aware datetime that also exists in UTC (where it is stored and compared): use it for
instants that arrive from outside, so that edge offsets are a 422, not a failure later."""


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class UuidGenerator:
    def new_id(self) -> str:
        return str(uuid.uuid4())
