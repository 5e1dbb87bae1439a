"""Infusion slots: held at the treatment center after the lymphodepletion lead."""

from __future__ import annotations

from v2v_events.contracts.logistics import BookingCancelled, BookingKind, InfusionSlotBooked
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness

from .support import FRI_27, MON_30, SAT_28, TUE_DEC_1, WED_25, book_infusion, cancel, new_coi


async def booked_for(h: ServiceHarness, coi: str) -> list[InfusionSlotBooked]:
    return [m for m in await h.published(InfusionSlotBooked) if m.coi == coi]


async def test_infusion_slot_after_lymphodepletion_lead(harness: ServiceHarness) -> None:
    coi = new_coi()
    # Lymphodepletion from Wednesday would infuse on Saturday, Thursday on Sunday: no
    # infusion days. Friday + 3 days = Monday.
    assert await book_infusion(harness, coi, WED_25) is Outcome.PROCESSED
    [slot] = await booked_for(harness, coi)
    assert (slot.lymphodepletion_start, slot.infusion_date) == (FRI_27, MON_30)
    assert slot.treatment_center == "center-a" and slot.actor.user_id == "journey-worker"
    async with harness.client() as c:
        [booking] = (await c.get("/bookings", params={"coi": coi})).json()
    assert booking["kind"] == "infusion-slot" and booking["booking_id"] == slot.booking_id
    assert booking["details"] == {
        "treatment_center": "center-a",
        "lymphodepletion_start": "2026-11-27",
        "infusion_date": "2026-11-30",
    }
    assert booking["config_version"] == "test.v1"


async def test_full_infusion_day_moves_on_and_cancel_frees_it(harness: ServiceHarness) -> None:
    first, second, third = new_coi(), new_coi(), new_coi()
    await book_infusion(harness, first, WED_25)
    await book_infusion(harness, second, WED_25)  # one slot a day: Monday is taken
    [a], [b] = await booked_for(harness, first), await booked_for(harness, second)
    assert (b.lymphodepletion_start, b.infusion_date) == (SAT_28, TUE_DEC_1)

    await cancel(harness, first, a.booking_id, reason="oos")
    [cancelled] = await harness.published(BookingCancelled)
    assert cancelled.kind is BookingKind.INFUSION_SLOT
    await book_infusion(harness, third, WED_25)
    [c] = await booked_for(harness, third)
    assert c.infusion_date == MON_30


async def test_repeated_command_returns_the_same_infusion_slot(harness: ServiceHarness) -> None:
    coi = new_coi()
    await book_infusion(harness, coi, WED_25)
    await book_infusion(harness, coi, WED_25)
    answers = await booked_for(harness, coi)
    assert len(answers) == 2 and answers[0] == answers[1]
    other = new_coi()
    await book_infusion(harness, other, WED_25)
    [slot] = await booked_for(harness, other)
    assert slot.infusion_date == TUE_DEC_1  # the repeat did not take a second slot


async def test_unknown_treatment_center_is_refused(harness: ServiceHarness) -> None:
    coi = new_coi()
    assert await book_infusion(harness, coi, WED_25, center="nowhere") is Outcome.DEAD_LETTERED
    [(_, _, _, headers)] = harness.dead_letters.sent
    assert b"'nowhere' is not in network configuration" in dict(headers)["v2v_dlq_error"]
    assert await booked_for(harness, coi) == []
