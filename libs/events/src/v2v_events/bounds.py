"""The static bounds of every public message field, in one place.

They never depend on "now": they keep every consumer's arithmetic and storage safe for
anything a contract accepts (a date plus a scheduling horizon stays inside the calendar, a
count fits an INTEGER column, a float is finite). Services apply their own, tighter windows
around their clock on top (e.g. an earliest collection date within 180 days of today).

HTTP request models use these same types for values that end up in a message, so an API can
never accept what its own contract would refuse.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

# Dates and instants: far wider than any journey, far inside the calendar's ends, so that
# consumers may add years of days to them without overflowing (date.max is 9999-12-31).
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2199, 12, 31)
MIN_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

ID_MAX = 128  # identifiers: ids issued by services, unit and lot ids, user ids
ROLE_MAX = 64  # an actor's role
NAME_MAX = 200  # names people give: sites, centers, parties, couriers
TEXT_MAX = 4000  # free text: reasons, details, descriptions (the default for any string)
LIST_MAX = 200  # units, bags, tests, failures in one message
INT32_MAX = 2**31 - 1  # counts and attempts are stored in INTEGER columns
CELLS_MAX = 1e15  # cell counts (a whole apheresis is ~1e10)
TEMPERATURE_MIN_C = -273.15
TEMPERATURE_MAX_C = 1000.0
MINUTES_MAX = 1_000_000.0  # durations in minutes (about two years)
VOLUME_MAX_ML = 5000.0
WEIGHT_MAX_KG = 400.0

BoundedDate = Annotated[
    date,
    Field(
        ge=MIN_DATE,
        le=MAX_DATE,
        json_schema_extra={
            "formatMinimum": MIN_DATE.isoformat(),
            "formatMaximum": MAX_DATE.isoformat(),
        },
    ),
]
"""A calendar date within 2000-01-01 .. 2199-12-31."""

BoundedDatetime = Annotated[
    AwareDatetime,
    Field(
        ge=MIN_INSTANT,
        le=MAX_INSTANT,
        json_schema_extra={
            "formatMinimum": MIN_INSTANT.isoformat().replace("+00:00", "Z"),
            "formatMaximum": MAX_INSTANT.isoformat().replace("+00:00", "Z"),
        },
    ),
]
"""An instant with its UTC offset, within 2000-01-01T00:00:00Z .. 2199-12-31T23:59:59Z
(compared as instants, so no offset at the calendar's ends can overflow)."""

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX)]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX)]

Attempt = Annotated[int, Field(ge=1, le=INT32_MAX)]
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
Percent = Annotated[float, Field(ge=0, le=100)]
CellCount = Annotated[float, Field(ge=0, le=CELLS_MAX)]
Temperature = Annotated[float, Field(ge=TEMPERATURE_MIN_C, le=TEMPERATURE_MAX_C)]
Minutes = Annotated[float, Field(ge=0, le=MINUTES_MAX)]


def clip(text: str, limit: int = TEXT_MAX) -> str:
    """``text`` shortened to ``limit`` characters (ending in '…' when cut): for free text a
    producer composes from other messages' text, which could otherwise outgrow the bound."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
