"""Shipments: booking, pickup, delivery with the data logger's summary, cancellation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from v2v_events.contracts.common import ShipmentDirection, TemperatureClass
from v2v_events.contracts.logistics import (
    BookingCancelled,
    BookingKind,
    ShipmentBooked,
    ShipmentDelivered,
    ShipmentPickedUp,
)
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, as_user

from .support import THU_26, book_shipment, cancel, new_coi, problem_type, schedule

# Couriers report what has happened: the day before the harness clock (2026-11-24 08:00).
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

# logistics coordinators may call every logistics route
LOGISTICS = as_user("u-logistics", "logistics-coordinator")


def readings(*temps: float, every_min: float = 10, start: datetime = T0) -> list[dict[str, Any]]:
    return [
        {"at": (start + timedelta(minutes=every_min * i)).isoformat(), "temperature_c": t}
        for i, t in enumerate(temps)
    ]


async def booked(
    h: ServiceHarness,
    *,
    direction: ShipmentDirection = ShipmentDirection.INBOUND,
    temperature_class: TemperatureClass = TemperatureClass.FRESH_2_8,
) -> ShipmentBooked:
    coi = new_coi()
    assert (
        await book_shipment(h, coi, direction=direction, temperature_class=temperature_class)
        is Outcome.PROCESSED
    )
    return [m for m in await h.published(ShipmentBooked) if m.coi == coi][-1]


async def pick_up(h: ServiceHarness, shipment_id: str, at: datetime = T0) -> dict[str, Any]:
    async with h.client() as c:
        r = await c.post(
            f"/shipments/{shipment_id}/pickup",
            json={"courier": "courier-1", "picked_up_at": at.isoformat()},
            headers=LOGISTICS,
        )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def deliver(h: ServiceHarness, shipment_id: str, **body: Any) -> Any:
    body.setdefault("delivered_at", (T0 + timedelta(hours=6)).isoformat())
    async with h.client() as c:
        return await c.post(f"/shipments/{shipment_id}/delivery", json=body, headers=LOGISTICS)


@pytest.mark.requirement("EU-PartIV.10.5")
async def test_book_pick_up_and_deliver_with_logger_summary(harness: ServiceHarness) -> None:
    ship = await booked(harness)
    assert ship.direction is ShipmentDirection.INBOUND and ship.unit_ids == ["G123498654321"]
    assert ship.actor.user_id == "journey-worker"
    async with harness.client() as c:
        view = (await c.get(f"/shipments/{ship.shipment_id}")).json()
    assert view["status"] == "booked" and view["logger"] is None
    assert view["config_version"] == "test.v1"

    view = await pick_up(harness, ship.shipment_id)
    assert view["status"] == "picked-up" and view["courier"] == "courier-1"
    [picked] = await harness.published(ShipmentPickedUp)
    assert picked.shipment_id == ship.shipment_id and picked.picked_up_at == T0
    assert picked.actor.user_id == "u-logistics"  # the courier/coordinator who called

    r = await deliver(harness, ship.shipment_id, readings=readings(4.0, 5.5, 3.1, 6.0))
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] == "delivered"
    assert view["logger"] == {
        "min_c": 3.1,
        "max_c": 6.0,
        "readings": 4,
        "excursion": False,
        "excursion_detail": None,
    }
    [delivered] = await harness.published(ShipmentDelivered)
    assert delivered.shipment_id == ship.shipment_id and delivered.coi == ship.coi
    assert delivered.logger.excursion is False and delivered.logger.readings == 4
    # v2: what it carried and where it went, as booked (QC names the units of an excursion)
    assert delivered.unit_ids == ship.unit_ids
    assert delivered.temperature_class is TemperatureClass.FRESH_2_8
    assert (delivered.origin, delivered.destination) == (ship.origin, ship.destination)

    async with harness.client() as c:
        listed = (await c.get("/shipments", params={"coi": ship.coi, "status": "delivered"})).json()
        none = (await c.get("/shipments", params={"coi": ship.coi, "direction": "outbound"})).json()
    assert [s["shipment_id"] for s in listed] == [ship.shipment_id]
    assert none == []


@pytest.mark.requirement("EU-PartIV.10.5")
@pytest.mark.parametrize(
    ("temperature_class", "body", "detail"),
    [
        pytest.param(
            TemperatureClass.FRESH_2_8,
            {"readings": readings(4.0, 9.5, 5.0)},
            "1 of 3 readings above 8.0 °C (warmest 9.5 °C",
            id="fresh-too-warm",
        ),
        pytest.param(
            TemperatureClass.FRESH_2_8,
            {"readings": readings(4.0, 1.0, 5.0)},
            "1 of 3 readings below 2.0 °C",
            id="fresh-too-cold",
        ),
        pytest.param(
            TemperatureClass.CRYO_VAPOR,
            {"readings": readings(-190.0, -149.0, -185.0)},
            "1 of 3 readings above -150.0 °C",
            id="cryo-above-minus-150",
        ),
        pytest.param(
            TemperatureClass.FRESH_2_8,
            {"readings": readings(4.0, 4.2, every_min=45)},
            "1 data gap(s) longer than 30 min (longest 45 min",
            id="data-gap",
        ),
        pytest.param(
            TemperatureClass.CRYO_VAPOR,
            {"readings": readings(-190.0, -189.0), "tilt_alarm": True},
            "tilt alarm",
            id="tilt-alarm",
        ),
        pytest.param(
            TemperatureClass.CRYO_VAPOR,
            {"readings": readings(-190.0, -189.0), "shock_alarm": True},
            "shock alarm",
            id="shock-alarm",
        ),
    ],
)
async def test_excursions_are_flagged(
    harness: ServiceHarness,
    temperature_class: TemperatureClass,
    body: dict[str, Any],
    detail: str,
) -> None:
    ship = await booked(
        harness, direction=ShipmentDirection.OUTBOUND, temperature_class=temperature_class
    )
    await pick_up(harness, ship.shipment_id)
    r = await deliver(harness, ship.shipment_id, **body)
    assert r.status_code == 200, r.text
    logger = r.json()["logger"]
    assert logger["excursion"] is True
    assert detail in logger["excursion_detail"]
    [delivered] = await harness.published(ShipmentDelivered)
    assert delivered.logger.excursion is True
    assert delivered.logger.excursion_detail is not None
    assert detail in delivered.logger.excursion_detail


async def test_cryo_within_limits_is_no_excursion(harness: ServiceHarness) -> None:
    ship = await booked(harness, temperature_class=TemperatureClass.CRYO_VAPOR)
    await pick_up(harness, ship.shipment_id)
    r = await deliver(harness, ship.shipment_id, readings=readings(-190.0, -160.0, -150.0))
    assert r.json()["logger"]["excursion"] is False


async def test_delivery_before_pickup_is_a_422_problem(harness: ServiceHarness) -> None:
    ship = await booked(harness)
    r = await deliver(harness, ship.shipment_id, readings=readings(4.0))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert problem_type(r.json()) == "delivery-before-pickup"
    assert await harness.published(ShipmentDelivered) == []


@pytest.mark.requirement("EU-PartIV.10.5")
async def test_delivery_without_readings_is_refused(harness: ServiceHarness) -> None:
    ship = await booked(harness)
    await pick_up(harness, ship.shipment_id)
    r = await deliver(harness, ship.shipment_id, readings=[])
    assert r.status_code == 422
    assert problem_type(r.json()) == "no-logger-readings"


@pytest.mark.requirement("21CFR11.10(f)")
async def test_delivered_before_picked_up_time_is_refused(harness: ServiceHarness) -> None:
    ship = await booked(harness)
    await pick_up(harness, ship.shipment_id)
    r = await deliver(
        harness,
        ship.shipment_id,
        delivered_at=(T0 - timedelta(minutes=1)).isoformat(),
        readings=readings(4.0),
    )
    assert r.status_code == 422
    assert problem_type(r.json()) == "delivered-before-picked-up"


async def test_repeated_pickup_and_delivery_are_answered_with_the_state(
    harness: ServiceHarness,
) -> None:
    ship = await booked(harness)
    await pick_up(harness, ship.shipment_id)
    await pick_up(harness, ship.shipment_id)  # a courier's retry
    assert len(await harness.published(ShipmentPickedUp)) == 1
    body = {"readings": readings(4.0, 5.0)}
    assert (await deliver(harness, ship.shipment_id, **body)).status_code == 200
    assert (await deliver(harness, ship.shipment_id, **body)).status_code == 200
    assert len(await harness.published(ShipmentDelivered)) == 1
    other = await deliver(harness, ship.shipment_id, readings=readings(7.0))
    assert other.status_code == 409
    assert problem_type(other.json()) == "already-delivered"


async def test_cancel_is_idempotent(harness: ServiceHarness) -> None:
    ship = await booked(harness)
    async with harness.client() as c:
        for _ in range(2):
            r = await c.post(
                f"/bookings/{ship.shipment_id}/cancel",
                json={"reason": "journey ended"},
                headers=LOGISTICS,
            )
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "cancelled"
    assert await cancel(harness, ship.coi, ship.shipment_id) is Outcome.PROCESSED
    [msg] = await harness.published(BookingCancelled)
    assert msg.kind is BookingKind.SHIPMENT and msg.reason == "journey ended"
    assert msg.actor.user_id == "u-logistics"
    async with harness.client() as c:
        view = (await c.get(f"/shipments/{ship.shipment_id}")).json()
        refused = await c.post(
            f"/shipments/{ship.shipment_id}/pickup",
            json={"courier": "courier-1", "picked_up_at": T0.isoformat()},
            headers=LOGISTICS,
        )
    assert view["status"] == "cancelled" and view["cancel_reason"] == "journey ended"
    assert refused.status_code == 409


async def test_cancelling_a_delivered_shipment_over_http_is_a_409(
    harness: ServiceHarness,
) -> None:
    ship = await booked(harness)
    await pick_up(harness, ship.shipment_id)
    await deliver(harness, ship.shipment_id, readings=readings(4.0))
    async with harness.client() as c:
        r = await c.post(
            f"/bookings/{ship.shipment_id}/cancel", json={"reason": "x"}, headers=LOGISTICS
        )
    assert r.status_code == 409
    assert problem_type(r.json()) == "shipment-delivered"


async def test_cancel_command_for_a_delivered_shipment_changes_nothing(
    harness: ServiceHarness,
) -> None:
    ship = await booked(harness)
    await pick_up(harness, ship.shipment_id)
    await deliver(harness, ship.shipment_id, readings=readings(4.0))
    assert await cancel(harness, ship.coi, ship.shipment_id) is Outcome.PROCESSED
    assert harness.dead_letters.sent == []
    assert await harness.published(BookingCancelled) == []
    async with harness.client() as c:
        assert (await c.get(f"/shipments/{ship.shipment_id}")).json()["status"] == "delivered"


async def test_cancel_command_for_an_unknown_booking_changes_nothing(
    harness: ServiceHarness,
) -> None:
    assert await cancel(harness, new_coi(), "no-such-booking") is Outcome.PROCESSED
    assert harness.dead_letters.sent == []


async def test_cancel_command_for_another_patients_booking_is_dead_lettered(
    harness: ServiceHarness,
) -> None:
    ship = await booked(harness)
    assert await cancel(harness, new_coi(), ship.shipment_id) is Outcome.DEAD_LETTERED
    assert await harness.published(BookingCancelled) == []


async def test_repeated_book_shipment_returns_the_same_shipment(
    harness: ServiceHarness,
) -> None:
    coi = new_coi()
    await book_shipment(harness, coi)
    await book_shipment(harness, coi)
    await book_shipment(harness, coi, direction=ShipmentDirection.OUTBOUND)
    await book_shipment(harness, coi, attempt=2)
    ids = [m.shipment_id for m in await harness.published(ShipmentBooked)]
    assert ids[0] == ids[1]
    assert len(set(ids)) == 3
    async with harness.client() as c:
        listed = (await c.get("/shipments", params={"coi": coi})).json()
    assert len(listed) == 3


@pytest.mark.requirement("21CFR11.10(d)", "EU-Annex11.12.1")
async def test_mutations_need_identity(harness: ServiceHarness) -> None:
    ship = await booked(harness)
    async with harness.client(headers={}) as c:  # no token at all
        pickup = await c.post(
            f"/shipments/{ship.shipment_id}/pickup",
            json={"courier": "courier-1", "picked_up_at": T0.isoformat()},
        )
        cancel_ = await c.post(f"/bookings/{ship.shipment_id}/cancel", json={"reason": "x"})
    for r in (pickup, cancel_):
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["title"] == "Unauthenticated"
    assert await harness.published(ShipmentPickedUp) == []


async def test_unknown_shipment_and_bad_input_are_problems(harness: ServiceHarness) -> None:
    await schedule(harness, new_coi(), THU_26)  # creates the stream of Friday's slots
    async with harness.client() as c:
        missing = await c.get("/shipments/nope")
        slot_stream = await c.post(
            "/shipments/slots-site-a-2026-11-27/pickup",
            json={"courier": "c", "picked_up_at": T0.isoformat()},
            headers=LOGISTICS,
        )
        bad_coi = await c.get("/shipments", params={"coi": "not-a-coi"})
        naive = await c.post(
            "/shipments/nope/pickup",
            json={"courier": "c", "picked_up_at": "2026-11-24T09:00:00"},
            headers=LOGISTICS,
        )
    assert missing.status_code == 404 and problem_type(missing.json()) == "shipment-not-found"
    assert slot_stream.status_code == 404
    assert bad_coi.status_code == 422 and problem_type(bad_coi.json()) == "validation"
    assert naive.status_code == 422


async def test_instants_outside_the_utc_range_are_a_422_problem(harness: ServiceHarness) -> None:
    # 0001-01-01T00:00:00+14:00 is valid ISO 8601 but lies before 0001-01-01 in UTC.
    ship = await booked(harness)
    async with harness.client() as c:
        r = await c.post(
            f"/shipments/{ship.shipment_id}/pickup",
            json={"courier": "courier-1", "picked_up_at": "0001-01-01T00:00:00+14:00"},
            headers=LOGISTICS,
        )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert problem_type(r.json()) == "validation"
    await pick_up(harness, ship.shipment_id)
    edge = [{"at": "0001-01-01T00:00:00+14:00", "temperature_c": 4.0}]
    r = await deliver(harness, ship.shipment_id, readings=edge)
    assert r.status_code == 422, r.text
    assert problem_type(r.json()) == "validation"
    assert await harness.published(ShipmentDelivered) == []
