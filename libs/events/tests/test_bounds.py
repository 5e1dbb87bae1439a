"""Every field of every public contract is bounded, so that whatever a producer may send,
every consumer can store and compute with (the class of fault behind dates like 9999-12-31
passing the API and failing a consumer's arithmetic)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from v2v_events import REGISTRY, golden
from v2v_events.bounds import MAX_DATE, MAX_INSTANT, MIN_DATE, clip
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.contracts.logistics import ScheduleCollection
from v2v_events.registry import MessageType


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    return _resolve(schema, schema["$defs"][ref.rsplit("/", 1)[-1]])


def _unbounded(schema: dict[str, Any], node: dict[str, Any], path: str) -> list[str]:
    node = _resolve(schema, node)
    if "anyOf" in node:
        return [p for branch in node["anyOf"] for p in _unbounded(schema, branch, path)]
    if "enum" in node or "const" in node:
        return []
    kind = node.get("type")
    if kind in ("boolean", "null"):
        return []
    if kind == "string":
        if node.get("format") in ("date", "date-time"):
            ok = "formatMinimum" in node and "formatMaximum" in node
        else:
            ok = "maxLength" in node
        return [] if ok else [path]
    if kind in ("integer", "number"):
        low = "minimum" in node or "exclusiveMinimum" in node
        high = "maximum" in node or "exclusiveMaximum" in node
        return [] if low and high else [path]
    if kind == "array":
        found = [] if "maxItems" in node else [path]
        if "prefixItems" in node:  # a tuple: each position bounded, nothing beyond
            return found + [
                p
                for i, item in enumerate(node["prefixItems"])
                for p in _unbounded(schema, item, f"{path}[{i}]")
            ]
        return found + _unbounded(schema, node["items"], f"{path}[]")
    if kind == "object" and "properties" in node:
        return [
            p
            for name, prop in node["properties"].items()
            for p in _unbounded(schema, prop, f"{path}.{name}")
        ]
    return [f"{path} ({kind or 'untyped'})"]


@pytest.mark.requirement("EU-Annex11.4.7")
@pytest.mark.parametrize("mt", list(REGISTRY), ids=lambda m: m.name)
def test_every_field_of_every_contract_is_bounded(mt: MessageType) -> None:
    schema = mt.model.model_json_schema()
    assert _unbounded(schema, schema, mt.model.__name__) == []


def _enrolled(**changes: Any) -> dict[str, Any]:
    return golden.load("org.vein2vein.custody.patient.enrolled", 1) | changes


@pytest.mark.parametrize("day", ["9999-12-31", "1900-01-01", "0001-01-01", "2200-01-01"])
def test_dates_outside_the_contract_range_are_refused(day: str) -> None:
    with pytest.raises(ValidationError, match="earliest_collection"):
        PatientEnrolled.model_validate(_enrolled(earliest_collection=day))


@pytest.mark.parametrize(
    "instant",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1999-12-31T23:59:59Z"],
)
def test_instants_outside_the_contract_range_are_refused(instant: str) -> None:
    with pytest.raises(ValidationError, match="enrolled_at"):
        PatientEnrolled.model_validate(_enrolled(enrolled_at=instant))


def test_the_edges_of_the_range_are_accepted_and_leave_room_for_arithmetic() -> None:
    low = PatientEnrolled.model_validate(
        _enrolled(earliest_collection=MIN_DATE.isoformat(), enrolled_at="2000-01-01T09:00+09:00")
    )
    high = PatientEnrolled.model_validate(
        _enrolled(earliest_collection=MAX_DATE.isoformat(), enrolled_at=MAX_INSTANT.isoformat())
    )
    assert low.enrolled_at == datetime(2000, 1, 1, tzinfo=UTC)
    # a consumer may add decades of days to any date a contract carries
    assert high.earliest_collection + timedelta(days=365 * 100) < date.max
    assert high.enrolled_at.astimezone(timezone(timedelta(hours=-14))).year == 2199


@pytest.mark.requirement("EU-Annex11.4.7")
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("patient_weight_kg", float("nan")),
        ("patient_weight_kg", float("inf")),
        ("treatment_center", "x" * 201),
        ("therapy", ""),
    ],
)
def test_numbers_are_finite_and_strings_bounded(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=field):
        PatientEnrolled.model_validate(_enrolled(**{field: value}))


def test_nan_read_from_json_is_refused() -> None:
    # Python's JSON reader accepts NaN and Infinity: the contract must not.
    raw = golden.load("org.vein2vein.logistics.shipment.delivered", 1)
    raw["logger"]["min_c"] = float("nan")
    with pytest.raises(Exception, match="min_c"):
        REGISTRY.decode("org.vein2vein.logistics.shipment.delivered", 1, raw)


def test_attempts_fit_an_integer_column() -> None:
    data = golden.load("org.vein2vein.logistics.collection.schedule", 1)
    ScheduleCollection.model_validate(data | {"attempt": 2**31 - 1})
    with pytest.raises(ValidationError, match="attempt"):
        ScheduleCollection.model_validate(data | {"attempt": 2**31})


def test_clip_keeps_composed_text_within_the_bound() -> None:
    assert clip("short") == "short"
    clipped = clip("x" * 5000)
    assert len(clipped) == 4000 and clipped.endswith("…")
