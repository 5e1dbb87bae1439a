"""Shared test data and helpers for the logistics tests."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from v2v_events.contracts.common import Actor, ShipmentDirection, TemperatureClass
from v2v_events.contracts.logistics import (
    BookInfusionSlot,
    BookLymphodepletion,
    BookShipment,
    CancelBooking,
    ScheduleCollection,
)
from v2v_logistics.domain.network import NetworkConfig
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness

# The StepClock starts on Tuesday 2026-11-24.
TUE_24, WED_25, THU_26, FRI_27 = (date(2026, 11, d) for d in (24, 25, 26, 27))
SAT_28, SUN_29, MON_30 = (date(2026, 11, d) for d in (28, 29, 30))
TUE_DEC_1 = date(2026, 12, 1)

JOURNEY = Actor(user_id="journey-worker", role="system")

TEST_NETWORK = NetworkConfig.model_validate(
    {
        "config_version": "test.v1",
        "scheduling_horizon_days": 10,
        "collection": {"inbound_transit_days": 1, "manufacturing_lead_days": 0},
        "apheresis_centers": ["apheresis-center-1"],
        "manufacturing_sites": {
            "site-a": {
                "slots_per_day": 2,
                "manufacturing_days": ["mon", "tue", "wed", "thu", "fri"],
            },
        },
        "treatment_centers": {
            "center-a": {
                "infusion_slots_per_day": 1,
                "infusion_days": ["mon", "tue", "wed", "thu", "fri"],
                "lymphodepletion_lead_days": 3,
            },
        },
        "temperature_classes": {
            "fresh-2-8C": {"min_c": 2.0, "max_c": 8.0},
            "cryo-le-minus-150C": {"min_c": None, "max_c": -150.0},
        },
        "logger": {"max_data_gap_minutes": 30},
    }
)

_cois = itertools.count(1)


def new_coi() -> str:
    return f"CHA1B2C26{next(_cois):06d}"


async def schedule(
    h: ServiceHarness,
    coi: str,
    earliest: date,
    *,
    attempt: int = 1,
    site: str = "site-a",
    id: str | None = None,
    center: str | None = "center-a",
) -> Outcome:
    cmd = ScheduleCollection(
        coi=coi,
        apheresis_center="apheresis-center-1",
        manufacturing_site=site,
        earliest_date=earliest,
        attempt=attempt,
        actor=JOURNEY,
        treatment_center=center,
    )
    return await h.deliver(cmd, subject=coi, id=id)


async def book_shipment(
    h: ServiceHarness,
    coi: str,
    *,
    direction: ShipmentDirection = ShipmentDirection.INBOUND,
    temperature_class: TemperatureClass = TemperatureClass.FRESH_2_8,
    attempt: int = 1,
) -> Outcome:
    cmd = BookShipment(
        coi=coi,
        direction=direction,
        temperature_class=temperature_class,
        unit_ids=["G123498654321"],
        origin="apheresis-center-1",
        destination="manufacturing-site-1",
        attempt=attempt,
        actor=JOURNEY,
    )
    return await h.deliver(cmd, subject=coi)


async def book_infusion(
    h: ServiceHarness,
    coi: str,
    earliest: date,
    *,
    attempt: int = 1,
    center: str = "center-a",
    gap_days: int | None = None,
) -> Outcome:
    cmd = BookInfusionSlot(
        coi=coi,
        treatment_center=center,
        earliest_date=earliest,
        attempt=attempt,
        actor=JOURNEY,
        lymphodepletion_gap_days=gap_days,
    )
    return await h.deliver(cmd, subject=coi)


async def book_lymphodepletion(
    h: ServiceHarness,
    coi: str,
    start: date,
    infusion_booking_id: str,
    *,
    attempt: int = 1,
    center: str = "center-a",
) -> Outcome:
    cmd = BookLymphodepletion(
        coi=coi,
        treatment_center=center,
        start_date=start,
        infusion_booking_id=infusion_booking_id,
        attempt=attempt,
        actor=JOURNEY,
    )
    return await h.deliver(cmd, subject=coi)


async def cancel(
    h: ServiceHarness, coi: str, booking_id: str, reason: str = "qc-failed"
) -> Outcome:
    cmd = CancelBooking(coi=coi, booking_id=booking_id, reason=reason, actor=JOURNEY)
    return await h.deliver(cmd, subject=coi)


def problem_type(body: dict[str, Any]) -> str:
    return str(body["type"]).removeprefix("urn:vein2vein:problem:")
