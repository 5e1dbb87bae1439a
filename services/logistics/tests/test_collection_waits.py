"""A collection that cannot be scheduled waits: the journey asks again later, a coordinator
may decide meanwhile (keep waiting, or end the journey), and a booking and an ended journey
never both take effect."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from v2v_events.contracts.logistics import (
    CollectionScheduled,
    CollectionUnschedulable,
    ScheduleCollection,
    SchedulingDecided,
    SchedulingDecision,
)
from v2v_logistics.application import schedule_collection as scheduling
from v2v_logistics.domain.waits import CollectionWait, wait_id
from v2v_runtime.eventstore import ConcurrencyError
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, as_user

from .conftest import HarnessFactory
from .support import JOURNEY, TEST_NETWORK, THU_26, cancel, new_coi, problem_type, schedule

COORDINATOR = as_user("u-coord-7", "treatment-center-coordinator")
# One slot a day and a 3-day horizon from Thursday: only Friday's slot is reachable.
SITE = TEST_NETWORK.manufacturing_sites["site-a"].model_copy(update={"slots_per_day": 1})
ONE_SLOT = TEST_NETWORK.model_copy(
    update={"scheduling_horizon_days": 3, "manufacturing_sites": {"site-a": SITE}}
)


@pytest.fixture
async def h(make_harness: HarnessFactory) -> ServiceHarness:
    return await make_harness(ONE_SLOT)


async def decide(
    h: ServiceHarness,
    coi: str,
    decision: str,
    reason: str = "patient can wait two weeks",
    who: dict[str, str] = COORDINATOR,
) -> httpx.Response:
    async with h.client() as c:
        return await c.post(
            f"/collections/{coi}/decision",
            json={"decision": decision, "reason": reason},
            headers={**who, "Idempotency-Key": f"k-{coi}-{decision}-{reason}"},
        )


async def full_then_waiting(h: ServiceHarness) -> tuple[CollectionScheduled, str]:
    """Friday's only slot taken by one patient; the next one's collection waits."""
    first, waiting = new_coi(), new_coi()
    await schedule(h, first, THU_26)
    await schedule(h, waiting, THU_26)
    [booked] = await h.published(CollectionScheduled)
    [refused] = await h.published(CollectionUnschedulable)
    assert refused.coi == waiting
    return booked, waiting


def stored(h: ServiceHarness) -> Any:
    return h.kit.uow()


async def test_a_coordinator_may_let_a_waiting_collection_keep_waiting(h: ServiceHarness) -> None:
    _, coi = await full_then_waiting(h)
    r = await decide(h, coi, "keep-waiting")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["coi"], body["attempt"], body["decision"]) == (coi, 1, "keep-waiting")
    assert body["actor"] == {"user_id": "u-coord-7", "role": "treatment-center-coordinator"}
    [published] = await h.published(SchedulingDecided)
    assert published.decision is SchedulingDecision.KEEP_WAITING
    assert published.reason == "patient can wait two weeks"
    async with stored(h) as uow:
        wait = await uow.repository(CollectionWait).get(wait_id(coi))
        [entry] = await uow.events.read_stream(wait_id(coi), from_version=2)
    assert wait.open and wait.decisions[0].decided_by.user_id == "u-coord-7"
    # the stored event also keeps the person's printed name and login as the token gave them
    assert entry.actor == {
        "user_id": "u-coord-7",
        "role": "treatment-center-coordinator",
        "name": "Test u-coord-7",
        "username": "u-coord-7",
    }
    # it keeps waiting: the next request is refused again, no second wait opened
    await schedule(h, coi, THU_26)
    assert len(await h.published(CollectionUnschedulable)) == 2
    async with stored(h) as uow:
        assert len(await uow.events.read_stream(wait_id(coi))) == 2


async def test_a_freed_slot_books_the_waiting_collection_and_ends_the_wait(
    h: ServiceHarness,
) -> None:
    booked, coi = await full_then_waiting(h)
    await cancel(h, booked.coi, booked.booking_id)
    await schedule(h, coi, THU_26)  # the journey asks again
    [later] = [m for m in await h.published(CollectionScheduled) if m.coi == coi]
    assert later.manufacturing_slot_date == booked.manufacturing_slot_date
    r = await decide(h, coi, "end-journey")
    assert r.status_code == 409
    assert problem_type(r.json()) == "collection-not-waiting"


async def test_ending_the_journey_means_its_attempt_is_never_booked(h: ServiceHarness) -> None:
    booked, coi = await full_then_waiting(h)
    r = await decide(h, coi, "end-journey", "physician: not fit for a later collection")
    assert r.status_code == 201, r.text
    await cancel(h, booked.coi, booked.booking_id)  # a slot frees up afterwards
    await schedule(h, coi, THU_26)  # a request that crossed the decision
    assert [m for m in await h.published(CollectionScheduled) if m.coi == coi] == []
    last = (await h.published(CollectionUnschedulable))[-1]
    assert "ended by decision of u-coord-7" in last.reason
    again = await decide(h, coi, "keep-waiting")
    assert again.status_code == 409
    assert problem_type(again.json()) == "journey-ended-by-decision"


async def test_a_booking_racing_the_decision_to_end_is_undone(
    h: ServiceHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request read the wait before the coordinator ended the journey: its write of the
    wait conflicts, so its whole transaction (the booking too) rolls back; done again, it
    finds the decision and books nothing."""
    booked, coi = await full_then_waiting(h)
    async with stored(h) as uow:
        stale = await uow.repository(CollectionWait).get(wait_id(coi))
    assert (await decide(h, coi, "end-journey")).status_code == 201
    await cancel(h, booked.coi, booked.booking_id)

    class StaleRead:
        def __init__(self, real: Any) -> None:
            self.real = real

        async def find(self, _: str) -> CollectionWait:
            return stale

        async def save(self, *args: Any, **kwargs: Any) -> Any:
            return await self.real.save(*args, **kwargs)

    cmd = ScheduleCollection(
        coi=coi,
        apheresis_center="apheresis-center-1",
        manufacturing_site="site-a",
        earliest_date=THU_26,
        actor=JOURNEY,
    )

    async def schedule_with_a_stale_read() -> None:
        async with h.kit.uow() as uow:
            real = uow.repository

            def stale_waits(aggregate: Any) -> Any:
                repo = real(aggregate)
                return StaleRead(repo) if aggregate is CollectionWait else repo

            monkeypatch.setattr(uow, "repository", stale_waits)
            await scheduling.schedule_collection(uow, ONE_SLOT, cmd)

    with pytest.raises(ConcurrencyError):
        await schedule_with_a_stale_read()
    async with h.client() as c:
        assert (await c.get("/bookings", params={"coi": coi})).json() == []
    assert await schedule(h, coi, THU_26) is Outcome.PROCESSED
    assert [m for m in await h.published(CollectionScheduled) if m.coi == coi] == []


async def test_no_waiting_collection_is_a_404(h: ServiceHarness) -> None:
    r = await decide(h, new_coi(), "end-journey")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert problem_type(r.json()) == "collection-not-waiting"


@pytest.mark.parametrize(
    ("coi", "body"),
    [
        ("not-a-coi", {"decision": "end-journey", "reason": "x"}),
        ("CHA1B2C26000001", {"decision": "give-up", "reason": "x"}),
        ("CHA1B2C26000001", {"decision": "end-journey", "reason": ""}),
    ],
)
async def test_bad_decisions_are_422_problems(
    h: ServiceHarness, coi: str, body: dict[str, str]
) -> None:
    async with h.client() as c:
        r = await c.post(f"/collections/{coi}/decision", json=body, headers=COORDINATOR)
    assert r.status_code == 422


async def test_a_wait_is_not_a_booking(h: ServiceHarness) -> None:
    _, coi = await full_then_waiting(h)
    async with h.client() as c:
        r = await c.get(f"/bookings/{wait_id(coi)}")
        assert r.status_code == 404
        r = await c.post(
            f"/bookings/{wait_id(coi)}/cancel", json={"reason": "x"}, headers=COORDINATOR
        )
        assert r.status_code == 404


@pytest.mark.requirement("21CFR11.10(g)")
async def test_only_people_of_the_patients_sites_decide(h: ServiceHarness) -> None:
    _, coi = await full_then_waiting(h)  # the patient of center-a, collected at apheresis-center-1
    elsewhere = as_user("u-coord-b", "treatment-center-coordinator", sites=["center-b"])
    r = await decide(h, coi, "end-journey", who=elsewhere)
    assert r.status_code == 404, r.text  # another center's patient is not disclosed
    assert problem_type(r.json()) == "collection-not-waiting"
    assert await h.published(SchedulingDecided) == []
    own = as_user("u-coord-a", "treatment-center-coordinator", sites=["center-a"])
    r = await decide(h, coi, "keep-waiting", who=own)
    assert r.status_code == 201, r.text
    planner = as_user("u-log-1", "logistics-coordinator", sites=["apheresis-center-1"])
    r = await decide(h, coi, "keep-waiting", "the planner agrees", who=planner)
    assert r.status_code == 201, r.text
