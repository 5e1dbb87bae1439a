"""QC's holds in logistics: a shipment carrying a unit QC holds is not picked up (409
``shipment-carries-held-unit`` naming the units and holds, nothing recorded) until QA's
signed release arrives (QC's hold.released). Other items' holds (lots, material lots) are not
logistics' to keep."""

from __future__ import annotations

from datetime import timedelta

from v2v_events.contracts.common import Actor
from v2v_events.contracts.holds import HoldItemKind, HoldPlaced, HoldReleased
from v2v_events.contracts.logistics import ShipmentBooked, ShipmentPickedUp
from v2v_runtime.holds import ItemHolds, holds_stream
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, StepClock

from .support import book_shipment, new_coi

QA = Actor(user_id="u-qa", role="qa-reviewer")


async def test_a_shipment_carrying_a_held_unit_is_not_picked_up(harness: ServiceHarness) -> None:
    clock = harness.kit.clock
    assert isinstance(clock, StepClock)
    coi = new_coi()
    assert await book_shipment(harness, coi) is Outcome.PROCESSED
    [ship] = await harness.published(ShipmentBooked)
    unit = ship.unit_ids[0]
    what = {"hold_id": "H-DEV-5-unit", "item_kind": HoldItemKind.UNIT, "item_id": unit}
    placed = HoldPlaced(
        **what, deviation_id="DEV-5", reason="r", placed_at=clock.now(), placed_by=QA
    )
    assert await harness.deliver(placed, subject=coi) is Outcome.PROCESSED
    lot_hold = placed.model_copy(update={"hold_id": "H-L", "item_kind": HoldItemKind.LOT})
    assert await harness.deliver(lot_hold, subject=coi) is Outcome.PROCESSED
    async with harness.kit.uow() as uow:
        assert await uow.repository(ItemHolds).find(holds_stream("lot", unit)) is None
    body = {
        "courier": "courier-1",
        "picked_up_at": (clock.now() - timedelta(minutes=5)).isoformat(),
    }
    url = f"/shipments/{ship.shipment_id}/pickup"
    async with harness.client() as c:
        r = await c.post(url, json=body)
        assert r.status_code == 409, r.text
        problem = r.json()
        assert problem["type"] == "urn:vein2vein:problem:shipment-carries-held-unit"
        assert (problem["unit_ids"], problem["hold_ids"], problem["deviation_ids"]) == (
            [unit],
            ["H-DEV-5-unit"],
            ["DEV-5"],
        )
        assert (await c.get(f"/shipments/{ship.shipment_id}")).json()["picked_up_at"] is None
        assert await harness.published(ShipmentPickedUp) == []
        released = HoldReleased(
            **what,
            deviation_id="DEV-5",
            reason="no impact",
            released_at=clock.now(),
            released_by=QA,
        )
        assert await harness.deliver(released, subject=coi) is Outcome.PROCESSED
        r = await c.post(url, json=body)
        assert r.status_code == 200, r.text
