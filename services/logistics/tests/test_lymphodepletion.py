"""Lymphodepletion: a booking of its own, with its own date, before an active infusion slot of
the same CoI; the product's minimum gap from lymphodepletion to infusion planned with the
infusion slot."""

from __future__ import annotations

from datetime import date

from v2v_events.contracts.logistics import (
    BookingCancelled,
    BookingKind,
    InfusionSlotBooked,
    LymphodepletionBooked,
)
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness

from .support import (
    FRI_27,
    MON_30,
    THU_26,
    WED_25,
    book_infusion,
    book_lymphodepletion,
    cancel,
    new_coi,
)


async def slot_for(h: ServiceHarness, coi: str) -> InfusionSlotBooked:
    [slot] = {
        m.booking_id: m for m in await h.published(InfusionSlotBooked) if m.coi == coi
    }.values()
    return slot


async def planned_for(h: ServiceHarness, coi: str) -> list[LymphodepletionBooked]:
    return [m for m in await h.published(LymphodepletionBooked) if m.coi == coi]


async def test_policy_gap_longer_than_the_centers_lead_moves_the_infusion(
    harness: ServiceHarness,
) -> None:
    coi = new_coi()
    # the center's lead is 3 days (Wednesday would infuse on Saturday: not an infusion day);
    # the product asks for 5: from Wednesday, infusion on Monday
    await book_infusion(harness, coi, WED_25, gap_days=5)
    slot = await slot_for(harness, coi)
    assert (slot.lymphodepletion_start, slot.infusion_date) == (WED_25, MON_30)


async def test_lymphodepletion_booked_before_its_infusion_slot_and_cancelled_alone(
    harness: ServiceHarness,
) -> None:
    coi = new_coi()
    await book_infusion(harness, coi, WED_25)
    slot = await slot_for(harness, coi)
    outcome = await book_lymphodepletion(harness, coi, slot.lymphodepletion_start, slot.booking_id)
    assert outcome is Outcome.PROCESSED
    [planned] = await planned_for(harness, coi)
    assert (planned.start_date, planned.infusion_date) == (FRI_27, MON_30)
    assert planned.infusion_booking_id == slot.booking_id
    assert planned.booking_id != slot.booking_id
    async with harness.client() as c:
        rows = (await c.get("/bookings", params={"coi": coi, "kind": "lymphodepletion"})).json()
    assert [(r["kind"], r["status"]) for r in rows] == [("lymphodepletion", "booked")]
    assert rows[0]["details"] == {
        "treatment_center": "center-a",
        "start_date": "2026-11-27",
        "infusion_booking_id": slot.booking_id,
        "infusion_date": "2026-11-30",
    }
    # a repeated command answers with the same booking
    await book_lymphodepletion(harness, coi, slot.lymphodepletion_start, slot.booking_id)
    assert {p.booking_id for p in await planned_for(harness, coi)} == {planned.booking_id}

    await cancel(harness, coi, planned.booking_id, reason="product held")
    [cancelled] = await harness.published(BookingCancelled)
    assert (cancelled.kind, cancelled.booking_id) == (
        BookingKind.LYMPHODEPLETION,
        planned.booking_id,
    )
    async with harness.client() as c:
        slots = (await c.get("/bookings", params={"coi": coi, "kind": "infusion-slot"})).json()
    assert [s["status"] for s in slots] == ["booked"]  # the infusion slot is its own booking


async def test_lymphodepletion_that_cannot_precede_the_slot_is_refused(
    harness: ServiceHarness,
) -> None:
    coi = new_coi()
    await book_infusion(harness, coi, WED_25)
    slot = await slot_for(harness, coi)
    past, on_infusion_day = date(2026, 11, 23), slot.infusion_date
    for start in (past, on_infusion_day):
        assert await book_lymphodepletion(harness, coi, start, slot.booking_id) is (
            Outcome.DEAD_LETTERED
        )
    # another patient's slot, an unknown one, a cancelled one
    other = new_coi()
    assert await book_lymphodepletion(harness, other, THU_26, slot.booking_id) is (
        Outcome.DEAD_LETTERED
    )
    assert await book_lymphodepletion(harness, coi, THU_26, "no-such-booking") is (
        Outcome.DEAD_LETTERED
    )
    await cancel(harness, coi, slot.booking_id)
    assert await book_lymphodepletion(harness, coi, THU_26, slot.booking_id) is (
        Outcome.DEAD_LETTERED
    )
    errors = [dict(headers)["v2v_dlq_error"] for *_, headers in harness.dead_letters.sent]
    assert len(errors) == 5
    for expected in (b"before today", b"does not precede the infusion", b"is cancelled"):
        assert any(expected in e for e in errors), expected
    assert await planned_for(harness, coi) == [] and await planned_for(harness, other) == []
