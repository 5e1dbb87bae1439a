"""Read models are derived data: replaying the event store rebuilds them exactly."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from v2v_events.contracts.logistics import CollectionScheduled, ShipmentBooked
from v2v_logistics.adapters.db.tables import READ_MODELS, bookings, slot_days
from v2v_runtime.testing import ServiceHarness, as_user

from .support import (
    FRI_27,
    MON_30,
    THU_26,
    WED_25,
    book_infusion,
    book_shipment,
    cancel,
    new_coi,
    schedule,
)

# logistics coordinators may call every logistics route
LOGISTICS = as_user("u-logistics", "logistics-coordinator")


async def snapshot(h: ServiceHarness) -> dict[str, list[dict[str, Any]]]:
    async with h.kit.uow() as uow:
        out = {}
        for table in READ_MODELS:
            rows = await uow.session.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [dict(r) for r in rows.mappings()]
        return out


async def test_rebuild_by_replay(harness: ServiceHarness) -> None:
    a, b, c = new_coi(), new_coi(), new_coi()
    await schedule(harness, a, THU_26)
    await schedule(harness, b, THU_26)
    await schedule(harness, c, THU_26)
    [first] = [m for m in await harness.published(CollectionScheduled) if m.coi == a]
    await cancel(harness, a, first.booking_id)
    await book_infusion(harness, b, WED_25)
    await book_shipment(harness, c)
    [ship] = await harness.published(ShipmentBooked)
    async with harness.client() as client:
        await client.post(
            f"/shipments/{ship.shipment_id}/pickup",
            json={"courier": "courier-1", "picked_up_at": "2026-11-23T09:00:00+00:00"},
            headers=LOGISTICS,
        )
        r = await client.post(
            f"/shipments/{ship.shipment_id}/delivery",
            json={
                "delivered_at": "2026-11-23T15:00:00+00:00",
                "readings": [{"at": "2026-11-23T10:00:00+00:00", "temperature_c": 9.0}],
            },
            headers=LOGISTICS,
        )
        assert r.status_code == 200, r.text

    before = await snapshot(harness)
    assert len(before["logistics_bookings"]) == 5
    assert len(before["logistics_shipments"]) == 1
    assert {(r["resource_kind"], r["day"], r["booked"]) for r in before["logistics_slot_days"]} == {
        ("manufacturing", FRI_27, 1),  # a (cancelled) and b on Friday
        ("manufacturing", MON_30, 1),  # c
        ("infusion", MON_30, 1),  # b
    }

    async with harness.kit.uow() as uow:  # damage the read models
        await uow.session.execute(delete(slot_days))
        await uow.session.execute(update(bookings).values(status="garbage"))
    assert await snapshot(harness) != before

    replayed = await harness.kit.rebuild()
    assert replayed > 0
    assert await snapshot(harness) == before
