"""Logistics' audit trail: a CoI's bookings and collection wait; late pickups and deliveries
(in the shipment too); slot days belong to their site; scoped to the bookings' places."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from v2v_events.contracts.logistics import ShipmentBooked
from v2v_logistics.adapters.db.audit_trail import slot_day_site
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, StepClock, as_user

from .support import WED_25, book_shipment, new_coi, schedule

AUDITOR = as_user("u-auditor", "auditor")
SITE_A = as_user("u-a", "logistics-coordinator", sites=["site-a"])
ELSEWHERE = as_user("u-b", "logistics-coordinator", sites=["center-b"])


async def trail(h: ServiceHarness, headers: dict[str, str], **params: Any) -> list[Any]:
    async with h.client() as c:
        r = await c.get("/audit-trail", params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["verification"]["status"] == "ok"
    entries: list[Any] = r.json()["entries"]
    return entries


def reading(at: datetime) -> list[dict[str, Any]]:
    return [{"at": at.isoformat(), "temperature_c": 5.0}]


@pytest.mark.requirement("21CFR11.10(e)", "EU-PartIV.6.1")
async def test_a_pickup_entered_late_and_a_delivery_on_time(harness: ServiceHarness) -> None:
    clock = harness.kit.clock
    assert isinstance(clock, StepClock)
    now = clock.now()
    coi = new_coi()
    assert await book_shipment(harness, coi) is Outcome.PROCESSED
    [ship] = await harness.published(ShipmentBooked)
    picked, delivered = now - timedelta(hours=3), now - timedelta(minutes=20)
    async with harness.client() as c:
        r = await c.post(
            f"/shipments/{ship.shipment_id}/pickup",
            json={"courier": "courier-1", "picked_up_at": picked.isoformat()},
        )
        assert r.status_code == 200 and r.json()["pickup_late"] is True, r.text
        r = await c.post(
            f"/shipments/{ship.shipment_id}/delivery",
            json={"delivered_at": delivered.isoformat(), "readings": reading(delivered)},
        )
        assert r.status_code == 200, r.text
    view = r.json()
    assert (view["pickup_late"], view["delivery_late"]) == (True, False)
    moves = [e for e in await trail(harness, AUDITOR, coi=coi) if e["late"] is not None]
    assert [(e["event_type"], e["late"]) for e in moves] == [
        ("logistics.shipment-picked-up", True),
        ("logistics.shipment-delivered", False),
    ]
    assert moves[0]["observed"] == {"picked_up_at": picked.isoformat().replace("+00:00", "Z")}


@pytest.mark.requirement("21CFR11.10(g)")
async def test_slot_days_belong_to_their_site_and_bookings_to_their_places(
    harness: ServiceHarness,
) -> None:
    coi = new_coi()
    assert await schedule(harness, coi, WED_25) is Outcome.PROCESSED
    mine = await trail(harness, SITE_A)
    records = {e["record"] for e in mine}
    slot_days = {r for r in records if r.startswith("slots-")}
    assert slot_days and {slot_day_site(r) for r in slot_days} == {"site-a"}
    assert {e["coi"] for e in mine if e["record"] not in slot_days} == {coi}
    # a CoI's trail is its own records, not the site's capacity
    assert {e["record"] for e in await trail(harness, SITE_A, coi=coi)} == records - slot_days
    assert await trail(harness, ELSEWHERE) == []
    assert await trail(harness, ELSEWHERE, coi=coi) == []


def test_the_site_of_a_slot_day() -> None:
    assert slot_day_site("slots-site-a-2026-11-27") == "site-a"
    assert slot_day_site("infusion-slots-treatment-center-1-2026-12-01") == "treatment-center-1"
