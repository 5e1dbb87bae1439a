"""Stored domain events evolve: a row written in an older schema version is upcast on
read, step by step; a row from a newer version, or a gap in the steps, is refused."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from sqlalchemy import insert

from v2v_runtime.db.tables import events, streams
from v2v_runtime.domain import Aggregate, DomainEvent, Upcaster
from v2v_runtime.eventstore import StoredEvent
from v2v_runtime.hashchain import GENESIS
from v2v_runtime.repository import EventCodec, Repository

from .conftest import FakeClock


def _v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 had one "volume" in litres; v2 stores millilitres under a clearer name
    out = dict(payload)
    out["volume_ml"] = out.pop("volume") * 1000
    return out


def _v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "site": "unknown (recorded before sites were kept)"}


class Filled(DomainEvent):
    kind = "bag.filled"
    schema_version = 3
    upcasters: ClassVar[dict[int, Upcaster]] = {1: _v1_to_v2, 2: _v2_to_v3}
    bag: str
    volume_ml: float
    site: str


class Bag(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.fills: list[Filled] = []

    def apply(self, event: DomainEvent) -> None:
        assert isinstance(event, Filled)
        self.fills.append(event)


CODEC = EventCodec("test", [Filled])


def stored(version: int, payload: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        position=1,
        stream_id="bag-1",
        version=1,
        event_id="e-1",
        event_type="test.bag.filled",
        schema_version=version,
        payload=payload,
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.mark.requirement("21CFR11.10(c)", "EU-Annex11.4.8", "EU-Annex11.17")
def test_a_v1_row_is_upcast_to_the_current_version() -> None:
    event = CODEC.decode(stored(1, {"bag": "B1", "volume": 0.07}))
    assert event == Filled(
        bag="B1", volume_ml=70.0, site="unknown (recorded before sites were kept)"
    )


@pytest.mark.requirement("EU-Annex11.4.8", "EU-Annex11.17")
def test_a_newer_row_or_a_missing_step_is_refused() -> None:
    with pytest.raises(LookupError, match="newer version"):
        CODEC.decode(stored(4, {"bag": "B1", "volume_ml": 1.0, "site": "s"}))

    class Gappy(DomainEvent):
        kind = "bag.gappy"
        schema_version = 2
        bag: str

    old = dataclasses.replace(stored(1, {"bag": "B1"}), event_type="test.bag.gappy")
    with pytest.raises(LookupError, match="no upcaster from v1"):
        EventCodec("test", [Gappy]).decode(old)


@pytest.mark.requirement("21CFR11.10(c)", "EU-Annex11.4.8", "EU-Annex11.17")
async def test_a_row_written_long_ago_loads_through_the_repository(uow_factory) -> None:  # type: ignore[no-untyped-def]
    """The row as an old release wrote it, straight in the table: the aggregate loads."""
    async with uow_factory() as uow:
        await uow.session.execute(
            insert(streams).values(stream_id="bag-9", version=1, head_hash="h")
        )
        await uow.session.execute(
            insert(events).values(
                stream_id="bag-9",
                version=1,
                event_id="old-1",
                event_type="test.bag.filled",
                schema_version=1,
                payload={"bag": "B9", "volume": 0.25},
                recorded_at=FakeClock().now(),
                actor={"user_id": "u", "role": "r"},
                prev_hash=GENESIS,
                hash="h",
            )
        )
    async with uow_factory() as uow:
        bag = await Repository(uow, Bag, CODEC).get("bag-9")
    assert [f.volume_ml for f in bag.fills] == [250.0]
