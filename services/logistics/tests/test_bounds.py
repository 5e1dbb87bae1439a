"""Logistics answers every command its contracts allow, and refuses reported times outside
the window (the issue: an earliest date near the end of the calendar overflowed the slot
search, the command was dead-lettered and the journey failed with "logistics did not
answer"; a courier pickup dated 9999 or 1900 was accepted)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from v2v_events.bounds import MAX_DATE, MIN_DATE
from v2v_events.contracts.common import Actor
from v2v_events.contracts.logistics import (
    BookInfusionSlot,
    CollectionScheduled,
    CollectionUnschedulable,
    InfusionSlotBooked,
    ScheduleCollection,
    ShipmentBooked,
)
from v2v_logistics.domain.network import NetworkConfig
from v2v_runtime.inbox import H_DLQ_ERROR, Outcome
from v2v_runtime.testing import OVERSIZED_IDENTITIES, ServiceHarness, as_user

from .support import TEST_NETWORK, TUE_24, book_shipment, new_coi, problem_type

JOURNEY = Actor(user_id="journey", role="system")
dates = st.dates(min_value=MIN_DATE, max_value=MAX_DATE)
names = st.text(min_size=1, max_size=200)

# logistics coordinators may call every logistics route
LOGISTICS = as_user("u-logistics", "logistics-coordinator")


def _answers(outbox: list[Any], coi: str, attempt: int) -> list[Any]:
    return [
        m
        for m in outbox
        if isinstance(m, CollectionScheduled | CollectionUnschedulable)
        and (m.coi, m.attempt) == (coi, attempt)
    ]


async def _published(h: ServiceHarness) -> list[Any]:
    return [*await h.published(CollectionScheduled), *await h.published(CollectionUnschedulable)]


@pytest.mark.requirement("EU-Annex11.4.7")
@given(
    earliest=dates,
    center=st.one_of(st.just("apheresis-center-1"), names),
    site=st.one_of(st.just("site-a"), names),
    attempt=st.integers(min_value=1, max_value=2**31 - 1),
)
async def test_every_schedule_collection_the_contract_allows_is_answered(
    harness: ServiceHarness, earliest: date, center: str, site: str, attempt: int
) -> None:
    coi = new_coi()
    cmd = ScheduleCollection(
        coi=coi,
        apheresis_center=center,
        manufacturing_site=site,
        earliest_date=earliest,
        attempt=attempt,
        actor=JOURNEY,
    )
    assert await harness.deliver(cmd, subject=coi) is Outcome.PROCESSED
    [answer] = _answers(await _published(harness), coi, attempt)
    if isinstance(answer, CollectionScheduled):
        assert center == "apheresis-center-1" and site == "site-a"
        assert answer.collection_date <= TUE_24 + timedelta(days=365 + 10)


@pytest.mark.parametrize(
    ("center", "earliest", "reason"),
    [
        ("apheresis-center-9", TUE_24, "apheresis center 'apheresis-center-9' is not in"),
        ("apheresis-center-1", MAX_DATE, "more than 365 days ahead"),
        ("apheresis-center-1", TUE_24 + timedelta(days=366), "more than 365 days ahead"),
    ],
)
async def test_what_logistics_cannot_book_is_answered_unschedulable(
    harness: ServiceHarness, center: str, earliest: date, reason: str
) -> None:
    coi = new_coi()
    cmd = ScheduleCollection(
        coi=coi,
        apheresis_center=center,
        manufacturing_site="site-a",
        earliest_date=earliest,
        actor=JOURNEY,
    )
    assert await harness.deliver(cmd, subject=coi) is Outcome.PROCESSED
    [refusal] = await harness.published(CollectionUnschedulable)
    assert reason in refusal.reason
    assert await harness.published(CollectionScheduled) == []


async def test_the_last_day_of_the_booking_window_is_booked(harness: ServiceHarness) -> None:
    coi = new_coi()
    cmd = ScheduleCollection(
        coi=coi,
        apheresis_center="apheresis-center-1",
        manufacturing_site="site-a",
        earliest_date=TUE_24 + timedelta(days=365),
        actor=JOURNEY,
    )
    assert await harness.deliver(cmd, subject=coi) is Outcome.PROCESSED
    [scheduled] = await harness.published(CollectionScheduled)
    assert scheduled.collection_date >= TUE_24 + timedelta(days=365)


@pytest.mark.requirement("EU-Annex11.4.7")
@given(earliest=dates, center=st.one_of(st.just("center-a"), names))
async def test_every_book_infusion_slot_is_booked_or_refused_by_a_domain_rule(
    harness: ServiceHarness, earliest: date, center: str
) -> None:
    coi = new_coi()
    cmd = BookInfusionSlot(coi=coi, treatment_center=center, earliest_date=earliest, actor=JOURNEY)
    before = len(harness.dead_letters.sent)
    outcome = await harness.deliver(cmd, subject=coi)
    if outcome is Outcome.PROCESSED:
        assert [b.coi for b in await harness.published(InfusionSlotBooked)].count(coi) == 1
        return
    # No infusion-slot refusal event exists: the rule's DomainError is dead-lettered, never
    # an OverflowError, a ValueError or an invalid outgoing message.
    [(_, _, _, headers)] = harness.dead_letters.sent[before:]
    error = dict(headers)[H_DLQ_ERROR].decode().splitlines()[-1]
    assert error.startswith("v2v_runtime.errors.DomainError"), error


def test_network_numbers_that_feed_date_arithmetic_are_bounded() -> None:
    data = TEST_NETWORK.model_dump(mode="json")
    for path, value in (
        (("scheduling_horizon_days",), 10**6),
        (("booking_window_days",), 10**6),
        (("collection", "inbound_transit_days"), 10**6),
        (("treatment_centers", "center-a", "lymphodepletion_lead_days"), 10**6),
    ):
        node = bad = _copy(data)
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        with pytest.raises(ValidationError, match=path[-1]):
            NetworkConfig.model_validate(bad)
    without = {k: v for k, v in data.items() if k != "apheresis_centers"}
    with pytest.raises(ValidationError, match="apheresis_centers"):
        NetworkConfig.model_validate(without)


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in data.items()}


async def _shipment(h: ServiceHarness) -> str:
    await book_shipment(h, new_coi())
    return (await h.published(ShipmentBooked))[-1].shipment_id


@pytest.mark.parametrize(
    ("at", "status", "code"),
    [
        ("9999-12-31T00:00:00Z", 422, "validation"),
        ("1900-01-01T00:00:00Z", 422, "validation"),
        ("2199-12-31T00:00:00Z", 422, "pickup-in-future"),
        ("2026-11-24T09:00:00Z", 422, "pickup-in-future"),  # an hour ahead of the clock
        ("2026-08-01T00:00:00Z", 422, "pickup-too-old"),
        ("2000-01-01T00:00:00Z", 422, "pickup-too-old"),
    ],
)
async def test_pickup_times_outside_the_window_are_refused(
    harness: ServiceHarness, at: str, status: int, code: str
) -> None:
    shipment = await _shipment(harness)
    async with harness.client() as c:
        r = await c.post(
            f"/shipments/{shipment}/pickup",
            json={"courier": "courier-1", "picked_up_at": at},
            headers=LOGISTICS,
        )
    assert r.status_code == status, r.text
    assert problem_type(r.json()) == code
    if code != "validation":
        assert r.json()["field"] == "picked_up_at"


async def test_delivery_times_outside_the_window_are_refused(harness: ServiceHarness) -> None:
    shipment = await _shipment(harness)
    picked = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    reading = [{"at": picked.isoformat(), "temperature_c": 4.0}]
    async with harness.client() as c:
        r = await c.post(
            f"/shipments/{shipment}/pickup",
            json={"courier": "courier-1", "picked_up_at": picked.isoformat()},
            headers=LOGISTICS,
        )
        assert r.status_code == 200, r.text
        for at, code in (
            ("2199-12-31T00:00:00Z", "delivery-in-future"),
            ("9999-12-31T00:00:00Z", "validation"),
        ):
            r = await c.post(
                f"/shipments/{shipment}/delivery",
                json={"delivered_at": at, "readings": reading},
                headers=LOGISTICS,
            )
            assert problem_type(r.json()) == code, r.text
        r = await c.post(
            f"/shipments/{shipment}/delivery",
            json={
                "delivered_at": "2026-11-23T15:00:00Z",
                "readings": [{"at": "2026-11-23T10:00:00Z", "temperature_c": 1e300}],
            },
            headers=LOGISTICS,
        )
        assert problem_type(r.json()) == "validation", r.text


async def test_identities_longer_than_an_actor_are_a_4xx_problem(
    harness: ServiceHarness,
) -> None:
    shipment = await _shipment(harness)
    async with harness.client() as c:
        for headers in OVERSIZED_IDENTITIES:
            r = await c.post(
                f"/shipments/{shipment}/pickup",
                json={"courier": "courier-1", "picked_up_at": "2026-11-24T07:00:00Z"},
                headers=headers,
            )
            assert r.status_code in (401, 403), r.text  # a token's claims, never a 500
            assert r.headers["content-type"] == "application/problem+json"
