"""A shipment delivered with a data-logger excursion (logistics' shipment.delivered) opens
one deviation on the chain of identity, naming the shipment, its direction, units and the
logger's findings: critical for an outbound shipment of cryopreserved product, major for an
inbound one of fresh apheresis (the policy's defaults). A redelivery opens none, a delivery
without excursion none; the lot whose bags it carried is held."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from v2v_events.contracts.common import (
    Actor,
    LoggerSummary,
    ShipmentDirection,
    TemperatureClass,
)
from v2v_events.contracts.logistics import ShipmentDelivered
from v2v_runtime.testing import ServiceHarness

from .raised import blocking, deliver, deviations, ids
from .support import COI, produced

AT = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
COURIER = Actor(user_id="u-courier", role="courier")
DETAIL = "1 of 3 readings above -150.0 °C (warmest -131.5 °C at 2026-11-22T11:40:00+00:00)"


def delivered(
    shipment_id: str = "S-OUT-1",
    *,
    direction: ShipmentDirection = ShipmentDirection.OUTBOUND,
    excursion: bool = True,
    unit_ids: tuple[str, ...] = ("bag-1", "bag-2"),
    routed: bool = True,
) -> ShipmentDelivered:
    outbound = direction is ShipmentDirection.OUTBOUND
    route = ("manufacturing-site-1", "treatment-center-1")
    if not outbound:
        route = ("apheresis-center-1", "manufacturing-site-1")
    extra = (
        {
            "temperature_class": TemperatureClass.CRYO_VAPOR
            if outbound
            else TemperatureClass.FRESH_2_8,
            "origin": route[0],
            "destination": route[1],
        }
        if routed
        else {}
    )
    return ShipmentDelivered(
        coi=COI,
        shipment_id=shipment_id,
        direction=direction,
        delivered_at=AT,
        logger=LoggerSummary(
            min_c=-186.0,
            max_c=-131.5,
            readings=3,
            excursion=excursion,
            excursion_detail=DETAIL if excursion else None,
        ),
        actor=COURIER,
        unit_ids=list(unit_ids),
        **extra,
    )


@pytest.mark.requirement("EU-PartIV.10.5", "EU-PartIV.11.4")
async def test_an_outbound_excursion_opens_one_critical_deviation_holding_the_lot(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await deliver(harness, produced("lot-1", bag_ids=("bag-1", "bag-2")), COI, "produced-1")
    msg = delivered()
    await deliver(harness, msg, COI, "delivered-1")
    await deliver(harness, msg, COI, "delivered-1-again")  # republished: no second one

    [deviation] = await deviations(client, shipment_id="S-OUT-1")
    assert (deviation["source"], deviation["classification"]) == ("shipment-excursion", "critical")
    assert (deviation["coi"], deviation["lot_id"]) == (COI, None)
    assert deviation["site"] == "manufacturing-site-1"  # where the product left from
    assert (deviation["shipment_id"], deviation["unit_ids"]) == ("S-OUT-1", ["bag-1", "bag-2"])
    for text in ("outbound shipment S-OUT-1", "cryo-le-minus-150C", DETAIL, "treatment-center-1"):
        assert text in deviation["description"], text
    assert [(b["batch_id"], b["lot_id"]) for b in deviation["batches"]] == [
        ("batch-of-lot-1", "lot-1")
    ]
    assert await blocking(harness, "lot-1") == [deviation["deviation_id"]]
    # found by its CoI, lot, units and shipment
    for by in ({"coi": COI}, {"lot_id": "lot-1"}, {"unit_id": "bag-2"}):
        assert ids(await deviations(client, **by)) == [deviation["deviation_id"]], by
    assert await deviations(client, shipment_id="S-OUT-2") == []


async def test_an_inbound_excursion_is_major_and_seen_where_it_arrived(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    msg = delivered("S-IN-1", direction=ShipmentDirection.INBOUND, unit_ids=("APH-1",))
    await deliver(harness, msg, COI, "delivered-in")
    [deviation] = await deviations(client, unit_id="APH-1")
    assert (deviation["classification"], deviation["site"]) == ("major", "manufacturing-site-1")
    assert "inbound shipment S-IN-1" in deviation["description"]
    assert deviation["batches"] == []  # no lot carries the apheresis unit


async def test_a_delivery_within_limits_opens_none(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await deliver(harness, delivered(excursion=False), COI, "delivered-ok")
    assert await deviations(client, coi=COI) == []


async def test_a_v1_delivery_names_no_units_and_no_site(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    """A delivery a v1 producer published (no units, no route) still opens its deviation;
    with no site to see it at, only readers of every site see it."""
    await deliver(harness, delivered("S-V1", unit_ids=(), routed=False), COI, "delivered-v1")
    [deviation] = await deviations(client, shipment_id="S-V1")
    assert (deviation["site"], deviation["unit_ids"]) == (None, [])
    assert deviation["classification"] == "critical"
