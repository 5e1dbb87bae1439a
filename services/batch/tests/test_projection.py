"""Read models are a function of the event store: a replay rebuilds them exactly."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from v2v_batch.adapters.db.tables import READ_TABLES
from v2v_events.contracts.batch import BatchOpened, RejectLot, Remanufacture
from v2v_runtime.testing import ServiceHarness

from .support import COI, JOURNEY, open_batch, produce_lot, record_steps


async def snapshot(harness: ServiceHarness) -> dict[str, list[tuple[Any, ...]]]:
    async with harness.kit.uow() as uow:
        out = {}
        for table in READ_TABLES:
            rows = (await uow.session.execute(select(table))).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return out


async def test_rebuild_by_replay_restores_every_read_model(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id, retained_aliquots=2)
    lot_id = (await produce_lot(client, batch_id))["lot_id"]
    await harness.deliver(
        RejectLot(coi=COI, lot_id=lot_id, reason="OOS", actor=JOURNEY), subject=COI
    )
    await harness.deliver(
        Remanufacture(coi=COI, previous_lot_id=lot_id, attempt=2, actor=JOURNEY), subject=COI
    )
    second = (await harness.published(BatchOpened))[-1].batch_id
    await record_steps(client, second)
    await produce_lot(client, second, bag_count=1)
    await open_batch(harness, unit="APH-OTHER")

    before = await snapshot(harness)
    assert all(before.values()), "every read-model table has rows"
    record_before = (await client.get(f"/batches/{batch_id}")).json()

    replayed = await harness.kit.rebuild()
    assert replayed > 0
    assert await snapshot(harness) == before
    assert (await client.get(f"/batches/{batch_id}")).json() == record_before


async def test_rebuild_empties_rows_the_store_does_not_justify(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    from v2v_batch.adapters.db.tables import batches

    await open_batch(harness)
    async with harness.kit.uow() as uow:
        row = (await uow.session.execute(select(batches))).mappings().one()
        await uow.session.execute(batches.insert().values({**row, "batch_id": "ghost"}))
    assert len((await client.get("/batches", params={"coi": COI})).json()) == 2
    await harness.kit.rebuild()
    listed = (await client.get("/batches", params={"coi": COI})).json()
    assert [b["batch_id"] for b in listed] != ["ghost"] and len(listed) == 1
