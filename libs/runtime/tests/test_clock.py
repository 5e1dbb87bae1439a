"""UtcDatetime: aware instants that also exist in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from v2v_runtime.clock import UtcDatetime

ADAPTER: TypeAdapter[datetime] = TypeAdapter(UtcDatetime)


def test_accepts_aware_instants_and_keeps_their_offset() -> None:
    value = ADAPTER.validate_python("2026-11-24T09:00:00+01:00")
    assert value == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert value.utcoffset() == timedelta(hours=1)
    assert ADAPTER.validate_python("0001-01-01T00:00:00Z").year == 1
    assert ADAPTER.validate_python("9999-12-31T23:59:59Z").year == 9999


@pytest.mark.parametrize(
    "raw", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T13:59:59+14:00"]
)
def test_refuses_instants_outside_the_utc_range(raw: str) -> None:
    with pytest.raises(ValidationError, match="outside"):
        ADAPTER.validate_python(raw)


def test_still_refuses_naive_datetimes() -> None:
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(datetime(2026, 11, 24, 8, 0))
    assert ADAPTER.validate_python(datetime(2026, 1, 1, tzinfo=UTC)).year == 2026
