"""How many collections the packaged network (config/network.v1.json) books from today.

The arithmetic. A ScheduleCollection tries the collection dates today .. today + 27 (the
28-day scheduling horizon, never the past) and books, with each, the manufacturing slot on
collection + 1 day (inbound transit 1 day + manufacturing lead 0 days). Those slot days,
today + 1 .. today + 28, are 28 consecutive days: four whole weeks, so exactly 20 weekdays
(manufacturing days mon-fri) whichever day today is. Site 1 has 4 slots a weekday:
20 x 4 = 80 collections; site 2 has 2: 20 x 2 = 40. Apheresis centers have no capacity or
collection days of their own in the configuration, so they take nothing off (collections
fall on Sunday-Thursday: the day before a manufacturing day). The demo driver
(v2v_cli.journeys.Patient) books at manufacturing-site-1 from today unless told otherwise.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest

from v2v_events.contracts.logistics import (
    CollectionScheduled,
    CollectionUnschedulable,
)
from v2v_logistics.adapters.config import load_network
from v2v_runtime.testing import ServiceHarness, StepClock

from .conftest import HarnessFactory
from .support import cancel, new_coi, schedule

NETWORK = load_network()
MONDAY = date(2026, 11, 23)


async def harness_on(make_harness: HarnessFactory, today: date) -> ServiceHarness:
    """The packaged network, its clock at 08:00 UTC on ``today``."""
    start = datetime.combine(today, time(8), UTC)
    return await make_harness(NETWORK, clock=StepClock(start))


def expected(site: str) -> int:
    """Weekdays among the 28 slot days after today, times the site's slots a weekday."""
    timing, plan = NETWORK.collection, NETWORK.site(site)
    assert timing.collection_to_slot_days == 1 and NETWORK.scheduling_horizon_days == 28
    assert plan.manufacturing_days == ("mon", "tue", "wed", "thu", "fri")
    return 20 * plan.slots_per_day


async def book_until_refused(h: ServiceHarness, site: str, today: date) -> int:
    for booked in itertools.count():
        await schedule(h, new_coi(), today, site=site)
        if await h.published(CollectionUnschedulable):
            return booked
    raise AssertionError("unreachable")


def test_the_packaged_numbers() -> None:
    assert (expected("manufacturing-site-1"), expected("manufacturing-site-2")) == (80, 40)


@pytest.mark.parametrize("offset", [0, 4, 5], ids=["from-monday", "from-friday", "from-saturday"])
@pytest.mark.parametrize("site", ["manufacturing-site-1", "manufacturing-site-2"])
async def test_books_until_refused(make_harness: HarnessFactory, site: str, offset: int) -> None:
    today = MONDAY + timedelta(days=offset)
    h = await harness_on(make_harness, today)
    assert await book_until_refused(h, site, today) == expected(site)

    booked = await h.published(CollectionScheduled)
    per_day = Counter(b.manufacturing_slot_date for b in booked)
    slots = NETWORK.site(site).slots_per_day
    assert set(per_day.values()) == {slots}  # every manufacturing day filled, none overfilled
    assert min(per_day) > today and max(per_day) <= today + timedelta(days=28)
    assert all(d.weekday() < 5 for d in per_day)
    assert all(b.collection_date == b.manufacturing_slot_date - timedelta(days=1) for b in booked)
    [refusal] = await h.published(CollectionUnschedulable)
    assert (refusal.searched_from, refusal.searched_until) == (
        today + timedelta(days=1),
        today + timedelta(days=28),
    )
    # The capacity view (default range: the bookable slot days) agrees: nothing left.
    async with h.client() as c:
        view = (await c.get(f"/capacity/{site}")).json()
    assert sum(d["capacity"] for d in view["days"]) == expected(site)
    assert sum(d["available"] for d in view["days"]) == 0
    assert view["days"][0]["date"] == (today + timedelta(days=1)).isoformat()


async def test_concurrent_requests_book_exactly_the_capacity(make_harness: HarnessFactory) -> None:
    site = "manufacturing-site-2"
    h = await harness_on(make_harness, MONDAY)
    requests = [schedule(h, new_coi(), MONDAY, site=site) for _ in range(expected(site) + 5)]
    await asyncio.gather(*requests)
    assert len(await h.published(CollectionScheduled)) == expected(site)
    assert len(await h.published(CollectionUnschedulable)) == 5


async def test_a_cancelled_collection_frees_its_slot_for_the_next(
    make_harness: HarnessFactory,
) -> None:
    site = "manufacturing-site-2"
    h = await harness_on(make_harness, MONDAY)
    assert await book_until_refused(h, site, MONDAY) == expected(site)
    first = (await h.published(CollectionScheduled))[0]
    await cancel(h, first.coi, first.booking_id)
    await schedule(h, new_coi(), MONDAY, site=site)
    again = (await h.published(CollectionScheduled))[-1]
    assert again.manufacturing_slot_date == first.manufacturing_slot_date
    await schedule(h, new_coi(), MONDAY, site=site)
    assert len(await h.published(CollectionUnschedulable)) == 2
