"""Effects a journey has once, counted in the read models: a second live booking, accepted
receipt or collection beyond the design is found; cancelled bookings, refused scans and a
re-collection the design makes are not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from v2v_batch.adapters.db import tables as batch_tables
from v2v_cli.chaos.doubles import doubled_effects
from v2v_custody.adapters.db import tables as custody_tables
from v2v_logistics.adapters.db import tables as logistics_tables
from v2v_qc.adapters.db import tables as qc_tables

METADATA = {
    "custody": custody_tables.metadata,
    "logistics": logistics_tables.metadata,
    "batch": batch_tables.metadata,
    "qc": qc_tables.metadata,
}
AT = datetime(2026, 11, 30, tzinfo=UTC)
_serial = iter(range(10**6))


def row(table: Table, **given: Any) -> dict[str, Any]:
    """``given`` plus a placeholder for every other required column."""
    values = dict(given)
    for col in table.columns:
        if col.name in values or (col.nullable and not col.primary_key):
            continue
        kind = col.type
        if isinstance(kind, JSON):
            values[col.name] = {}
        elif isinstance(kind, Boolean):
            values[col.name] = False
        elif isinstance(kind, Date):
            values[col.name] = date(2026, 11, 30)
        elif isinstance(kind, Integer | Float):
            values[col.name] = next(_serial)
        elif isinstance(kind, DateTime) or "DateTime" in type(kind).__name__:
            values[col.name] = AT
        else:
            values[col.name] = f"{col.name}-{next(_serial)}"
    return values


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[dict[str, AsyncEngine]]:
    made = {s: create_async_engine(f"sqlite+aiosqlite:///{tmp_path / s}.db") for s in METADATA}
    for service, engine in made.items():
        async with engine.begin() as conn:
            await conn.run_sync(METADATA[service].create_all)
    yield made
    for engine in made.values():
        await engine.dispose()


async def put(engine: AsyncEngine, table: Table, *rows: dict[str, Any]) -> None:
    async with engine.begin() as conn:
        for r in rows:  # one by one: the rows name different columns
            await conn.execute(insert(table).values(row(table, **r)))


async def test_nothing_doubled_when_each_effect_is_there_once(
    engines: dict[str, AsyncEngine],
) -> None:
    bookings, receipts = logistics_tables.bookings, custody_tables.receipts
    await put(
        engines["logistics"],
        bookings,
        {"coi": "C1", "kind": "collection", "attempt": 1, "status": "cancelled"},
        {"coi": "C1", "kind": "collection", "attempt": 1, "status": "booked"},
        {"coi": "C1", "kind": "shipment", "attempt": 1, "direction": "inbound", "status": "x"},
        {"coi": "C1", "kind": "shipment", "attempt": 1, "direction": "outbound", "status": "x"},
    )
    await put(
        engines["custody"],
        receipts,
        {"unit_id": "U1", "location": "ms-1", "outcome": "refused"},
        {"unit_id": "U1", "location": "ms-1", "outcome": "refused"},
        {"unit_id": "U1", "location": "ms-1", "outcome": "accepted"},
        {"unit_id": "U1", "location": "tc-1", "outcome": "accepted"},
    )
    collections = custody_tables.collections
    await put(engines["custody"], collections, {"coi": "C1"}, {"coi": "C1"}, {"coi": "C2"})
    assert await doubled_effects(engines, {"C1": 2, "C2": 1}) == []


async def test_a_second_live_booking_receipt_or_collection_is_doubled(
    engines: dict[str, AsyncEngine],
) -> None:
    await put(
        engines["logistics"],
        logistics_tables.bookings,
        {"coi": "C1", "kind": "infusion-slot", "attempt": 1, "status": "booked"},
        {"coi": "C1", "kind": "infusion-slot", "attempt": 1, "status": "booked"},
    )
    await put(
        engines["custody"],
        custody_tables.receipts,
        {"unit_id": "U1", "location": "tc-1", "outcome": "accepted"},
        {"unit_id": "U1", "location": "tc-1", "outcome": "accepted"},
    )
    await put(engines["custody"], custody_tables.collections, {"coi": "C1"}, {"coi": "C1"})
    await put(
        engines["batch"],
        batch_tables.batches,
        {"coi": "C1", "attempt": 2},
        {"coi": "C1", "attempt": 2},
    )
    assert sorted(await doubled_effects(engines, {"C1": 1})) == [
        "batch: batch C1/2 2 times",
        "custody: 2 collections of C1, designed 1",
        "custody: accepted receipt U1/tc-1 2 times",
        "logistics: live booking C1/infusion-slot/1 2 times",
    ]
