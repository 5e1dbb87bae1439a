"""Collections are booked only with a free manufacturing slot; capacity per site and day
holds, also when bookings race for the last slot."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from v2v_events.contracts.logistics import (
    BookingCancelled,
    BookingKind,
    CollectionScheduled,
    CollectionUnschedulable,
)
from v2v_logistics.application import allocation
from v2v_logistics.domain.slots import SlotDay
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness

from .conftest import HarnessFactory
from .support import (
    FRI_27,
    MON_30,
    SUN_29,
    TEST_NETWORK,
    THU_26,
    cancel,
    new_coi,
    schedule,
)


async def scheduled_for(h: ServiceHarness, coi: str) -> list[CollectionScheduled]:
    return [m for m in await h.published(CollectionScheduled) if m.coi == coi]


async def capacity(h: ServiceHarness, day: date, site: str = "site-a") -> dict[str, object]:
    async with h.client() as c:
        r = await c.get(
            f"/capacity/{site}", params={"from": day.isoformat(), "to": day.isoformat()}
        )
    assert r.status_code == 200, r.text
    days = r.json()["days"]
    assert len(days) == 1
    return dict(days[0])


async def test_books_collection_the_day_before_the_manufacturing_slot(
    harness: ServiceHarness,
) -> None:
    coi = new_coi()
    assert await schedule(harness, coi, THU_26) is Outcome.PROCESSED
    [msg] = await scheduled_for(harness, coi)
    assert (msg.collection_date, msg.manufacturing_slot_date) == (THU_26, FRI_27)
    assert msg.manufacturing_site == "site-a" and msg.attempt == 1
    assert msg.actor.user_id == "journey-worker"
    assert await capacity(harness, FRI_27) == {
        "date": "2026-11-27",
        "manufacturing_day": True,
        "capacity": 2,
        "booked": 1,
        "available": 1,
    }
    async with harness.client() as c:
        [booking] = (await c.get("/bookings", params={"coi": coi})).json()
    assert booking["booking_id"] == msg.booking_id
    assert booking["kind"] == "collection" and booking["status"] == "booked"
    assert booking["config_version"] == "test.v1"
    assert booking["details"]["collection_date"] == "2026-11-26"
    assert booking["details"]["manufacturing_slot_date"] == "2026-11-27"


async def test_full_day_moves_to_next_manufacturing_day_skipping_the_weekend(
    harness: ServiceHarness,
) -> None:
    cois = [new_coi() for _ in range(3)]  # capacity is 2 per day
    for coi in cois:
        assert await schedule(harness, coi, THU_26) is Outcome.PROCESSED
    slots = [(await scheduled_for(harness, coi))[0] for coi in cois]
    assert [s.manufacturing_slot_date for s in slots] == [FRI_27, FRI_27, MON_30]
    # Saturday and Sunday are no manufacturing days: collect on Sunday for Monday.
    assert slots[2].collection_date == SUN_29
    assert (await capacity(harness, FRI_27))["booked"] == 2
    assert (await capacity(harness, MON_30))["booked"] == 1
    weekend = await capacity(harness, date(2026, 11, 28))
    assert weekend["capacity"] == 0 and weekend["manufacturing_day"] is False


async def test_horizon_exhausted_is_unschedulable_and_books_nothing(
    make_harness: HarnessFactory,
) -> None:
    # One slot a day, a 3-day horizon from Thursday: only Friday's slot is reachable.
    site = TEST_NETWORK.manufacturing_sites["site-a"].model_copy(update={"slots_per_day": 1})
    network = TEST_NETWORK.model_copy(
        update={"scheduling_horizon_days": 3, "manufacturing_sites": {"site-a": site}}
    )
    h = await make_harness(network)
    first, second = new_coi(), new_coi()
    await schedule(h, first, THU_26)
    assert await schedule(h, second, THU_26) is Outcome.PROCESSED

    [refusal] = await h.published(CollectionUnschedulable)
    assert refusal.coi == second and refusal.manufacturing_site == "site-a"
    assert (refusal.searched_from, refusal.searched_until) == (FRI_27, SUN_29)
    assert "no free manufacturing slot" in refusal.reason
    assert await scheduled_for(h, second) == []
    async with h.client() as c:
        assert (await c.get("/bookings", params={"coi": second})).json() == []
    assert (await capacity(h, FRI_27))["booked"] == 1


async def test_unknown_site_answers_unschedulable(harness: ServiceHarness) -> None:
    coi = new_coi()
    assert await schedule(harness, coi, THU_26, site="nowhere") is Outcome.PROCESSED
    [refusal] = await harness.published(CollectionUnschedulable)
    assert "'nowhere' is not in network configuration test.v1" in refusal.reason
    assert harness.dead_letters.sent == []


async def test_unknown_site_capacity_is_a_422_problem(harness: ServiceHarness) -> None:
    async with harness.client() as c:
        r = await c.get("/capacity/nowhere")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:vein2vein:problem:unknown-manufacturing-site"


async def test_cancel_frees_the_manufacturing_slot(harness: ServiceHarness) -> None:
    a, b, c = new_coi(), new_coi(), new_coi()
    await schedule(harness, a, THU_26)
    await schedule(harness, b, THU_26)
    [booked_a] = await scheduled_for(harness, a)
    assert await cancel(harness, a, booked_a.booking_id) is Outcome.PROCESSED

    [cancelled] = await harness.published(BookingCancelled)
    assert cancelled.booking_id == booked_a.booking_id
    assert cancelled.kind is BookingKind.COLLECTION and cancelled.reason == "qc-failed"
    assert cancelled.actor.user_id == "journey-worker"
    assert (await capacity(harness, FRI_27))["booked"] == 1

    await schedule(harness, c, THU_26)
    [booked_c] = await scheduled_for(harness, c)
    assert booked_c.manufacturing_slot_date == FRI_27


async def test_concurrent_bookings_for_the_last_slot(harness: ServiceHarness) -> None:
    cois = [new_coi() for _ in range(5)]
    outcomes = await asyncio.gather(*(schedule(harness, coi, THU_26) for coi in cois))
    assert set(outcomes) == {Outcome.PROCESSED}
    days = sorted([(await scheduled_for(harness, coi))[0].manufacturing_slot_date for coi in cois])
    assert days == [FRI_27, FRI_27, MON_30, MON_30, date(2026, 12, 1)]


async def test_losing_the_race_for_the_last_slot_moves_to_the_next_day(
    harness: ServiceHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loser read the day before the winner took its last slot: its write conflicts
    (optimistic concurrency), it reads the day again, finds it full and books Monday."""
    first, winner, loser = new_coi(), new_coi(), new_coi()
    await schedule(harness, first, THU_26)  # Friday: 1 of 2 taken
    friday = "slots-site-a-2026-11-27"
    async with harness.kit.uow() as uow:
        stale = await allocation.load_slot_day(uow, friday)
    assert stale.booked == 1
    await schedule(harness, winner, THU_26)  # Friday: 2 of 2 taken, after the stale read

    real = allocation.load_slot_day
    served_stale: list[SlotDay] = []

    async def racing_load(uow: object, slot_id: str) -> SlotDay:
        if slot_id == friday and not served_stale:
            served_stale.append(stale)
            return stale
        return await real(uow, slot_id)  # type: ignore[arg-type]

    monkeypatch.setattr(allocation, "load_slot_day", racing_load)
    assert await schedule(harness, loser, THU_26) is Outcome.PROCESSED
    assert served_stale, "the stale read was not used"

    [booked] = await scheduled_for(harness, loser)
    assert booked.manufacturing_slot_date == MON_30
    assert (await capacity(harness, FRI_27))["booked"] == 2
    async with harness.kit.uow() as uow:
        assert (await allocation.load_slot_day(uow, friday)).booked == 2


async def test_repeated_command_for_the_same_attempt_returns_the_same_booking(
    harness: ServiceHarness,
) -> None:
    coi = new_coi()
    await schedule(harness, coi, THU_26, id="cmd-1")
    await schedule(harness, coi, THU_26, id="cmd-1")  # same message: inbox skips it
    await schedule(harness, coi, THU_26, id="cmd-2")  # same intent, new message
    answers = await scheduled_for(harness, coi)
    assert len(answers) == 2  # republished so the journey hears it
    assert answers[0] == answers[1]
    assert (await capacity(harness, FRI_27))["booked"] == 1

    await schedule(harness, coi, THU_26, attempt=2)  # a new attempt is a new booking
    answers = await scheduled_for(harness, coi)
    assert answers[-1].attempt == 2 and answers[-1].booking_id != answers[0].booking_id
    assert (await capacity(harness, FRI_27))["booked"] == 2


async def test_after_cancel_the_same_attempt_books_again(harness: ServiceHarness) -> None:
    coi = new_coi()
    await schedule(harness, coi, THU_26)
    [first] = await scheduled_for(harness, coi)
    await cancel(harness, coi, first.booking_id)
    await schedule(harness, coi, THU_26)
    second = (await scheduled_for(harness, coi))[-1]
    assert second.booking_id != first.booking_id
    assert (await capacity(harness, FRI_27))["booked"] == 1


async def test_earliest_date_in_the_past_books_from_today(harness: ServiceHarness) -> None:
    coi = new_coi()
    await schedule(harness, coi, date(2026, 11, 1))
    [msg] = await scheduled_for(harness, coi)
    assert msg.collection_date == date(2026, 11, 24)  # the clock's today
    assert msg.manufacturing_slot_date == date(2026, 11, 25)


@pytest.mark.parametrize(
    "params",
    [
        {"from": "9999-12-31"},  # the default 'to' (from + horizon) is past date.max
        {"from": "9999-12-30"},
        {"to": "0001-01-01"},
        {"from": "9999-12-31", "to": "0001-01-01"},
    ],
)
async def test_capacity_at_the_ends_of_the_calendar_is_a_422_problem(
    harness: ServiceHarness, params: dict[str, str]
) -> None:
    # Found by fuzzing: 'from' near 9999-12-31 overflowed the date arithmetic (500).
    async with harness.client() as c:
        r = await c.get("/capacity/site-a", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:vein2vein:problem:invalid-date-range"
