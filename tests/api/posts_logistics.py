"""Logistics' POST operations, each brought to where it succeeds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from v2v_events.contracts.common import ShipmentDirection, TemperatureClass
from v2v_events.contracts.logistics import BookShipment, ScheduleCollection, ShipmentBooked
from v2v_logistics.bootstrap import build
from v2v_logistics.settings import LogisticsSettings
from v2v_runtime.testing import ServiceHarness

from .support import (
    COI,
    COURIER,
    LOGISTICS,
    NOW,
    SYSTEM,
    Call,
    Scenario,
    clock_and_ids,
    deliver,
    ok,
)


def harness(tmp_path: Path) -> ServiceHarness:
    settings = LogisticsSettings(database_url=ServiceHarness.sqlite_url(tmp_path, "logistics"))
    clock, ids = clock_and_ids("logistics")
    return ServiceHarness(build(settings, clock=clock, ids=ids))


async def shipment(h: ServiceHarness) -> str:
    await deliver(
        h,
        BookShipment(
            coi=COI,
            direction=ShipmentDirection.INBOUND,
            temperature_class=TemperatureClass.FRESH_2_8,
            unit_ids=["G123498654321"],
            origin="apheresis-center-1",
            destination="manufacturing-site-1",
            attempt=1,
            actor=SYSTEM,
        ),
    )
    return (await h.published(ShipmentBooked))[-1].shipment_id


PICKUP = {"courier": "courier-1", "picked_up_at": (NOW - timedelta(hours=6)).isoformat()}


async def cancel_booking(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call(f"/bookings/{await shipment(h)}/cancel", {"reason": "patient unwell"}, LOGISTICS)


async def pick_up(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call(f"/shipments/{await shipment(h)}/pickup", PICKUP, COURIER)


async def deliver_shipment(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    shipment_id = await shipment(h)
    await ok(c, f"/shipments/{shipment_id}/pickup", PICKUP, COURIER)
    reading = {"at": (NOW - timedelta(hours=3)).isoformat(), "temperature_c": 5.0}
    body = {"delivered_at": (NOW - timedelta(hours=1)).isoformat(), "readings": [reading]}
    return Call(f"/shipments/{shipment_id}/delivery", body, COURIER)


async def scheduling_decision(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    # A site logistics does not know: unschedulable, so the collection waits for a decision.
    await deliver(
        h,
        ScheduleCollection(
            coi=COI,
            apheresis_center="apheresis-center-1",
            manufacturing_site="manufacturing-site-9",
            earliest_date=NOW.date(),
            actor=SYSTEM,
        ),
    )
    body = {"decision": "keep-waiting", "reason": "ok"}
    return Call(f"/collections/{COI}/decision", body, LOGISTICS)


SCENARIOS: dict[str, Scenario] = {
    "POST /collections/{coi}/decision": scheduling_decision,
    "POST /bookings/{booking_id}/cancel": cancel_booking,
    "POST /shipments/{shipment_id}/pickup": pick_up,
    "POST /shipments/{shipment_id}/delivery": deliver_shipment,
}
