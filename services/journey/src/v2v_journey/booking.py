"""Booking the infusion for an available product: only once QA released the lot (final or
conditional), the infusion slot (at least the policy's ``lymphodepletion_gap_days`` after
lymphodepletion may start, today) and then the patient's lymphodepletion before it, a booking
of its own. Both are registered in the attempt's ``bookings`` compensations: cancelled when
the product is held before infusion (and booked again once QA lifts the hold), or when the
lot does not reach the patient."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from v2v_events.contracts.journey import NotificationReason
    from v2v_events.contracts.logistics import (
        BookInfusionSlot,
        BookLymphodepletion,
        InfusionSlotBooked,
        LymphodepletionBooked,
    )

    from .activities import JourneyActivities
    from .mailbox import Expect

from .mechanics import SYSTEM
from .saga import Compensations, JourneySaga, Step

# workflow.patched id: histories recorded before it replay the old way
BOOK_AFTER_RELEASE = "book-after-release"  # was: the infusion slot booked while QC ran


class InfusionBooking(JourneySaga):
    def __init__(self) -> None:
        super().__init__()
        self._cancelled: set[str] = set()  # booking ids this journey cancelled

    async def _book_infusion(self, bookings: Compensations) -> None:
        """Book the infusion slot, then lymphodepletion before it. A booking logistics does
        not confirm within ``command_reply`` is reported: the center plans it by hand."""
        p, inp, n = self.inp.policy, self.inp, self._manufacturing_attempt
        today = workflow.now().date()
        await self._act(
            JourneyActivities.book_infusion_slot,
            BookInfusionSlot(
                coi=inp.coi,
                treatment_center=inp.treatment_center,
                earliest_date=today,  # product availability confirmed: QA released it
                attempt=n,
                actor=SYSTEM,
                lymphodepletion_gap_days=p.lymphodepletion_gap_days,
            ),
            "book infusion slot (product released)",
        )
        slot = await self._wait_any(
            "infusion-slot-booked",
            p.command_reply,
            Expect(
                InfusionSlotBooked,
                lambda m: m.attempt == n and m.booking_id not in self._cancelled,
            ),
        )
        if not isinstance(slot, InfusionSlotBooked):
            await self._unbooked("no infusion slot was booked")
            return
        bookings.add("cancel-infusion-slot", self._cancel_once(slot.booking_id))
        self._current.update(infusion_slot=slot.booking_id, infusion_date=str(slot.infusion_date))
        gap = timedelta(days=p.lymphodepletion_gap_days)
        start = min(slot.lymphodepletion_start, slot.infusion_date - gap)
        if start < today:
            await self._unbooked(
                f"the infusion on {slot.infusion_date} leaves less than "
                f"{p.lymphodepletion_gap_days} day(s) for lymphodepletion"
            )
            return
        await self._act(
            JourneyActivities.book_lymphodepletion,
            BookLymphodepletion(
                coi=inp.coi,
                treatment_center=inp.treatment_center,
                start_date=start,
                infusion_booking_id=slot.booking_id,
                attempt=n,
                actor=SYSTEM,
            ),
            f"book lymphodepletion from {start}",
        )
        planned = await self._wait_any(
            "lymphodepletion-booked",
            p.command_reply,
            Expect(LymphodepletionBooked, lambda m: m.infusion_booking_id == slot.booking_id),
        )
        if not isinstance(planned, LymphodepletionBooked):
            await self._unbooked("no lymphodepletion was booked")
            return
        bookings.add("cancel-lymphodepletion", self._cancel_once(planned.booking_id))
        self._current["lymphodepletion_start"] = str(planned.start_date)
        self._note(
            self._stage,
            f"lymphodepletion from {planned.start_date}, infusion on {slot.infusion_date}",
        )

    def _cancel_once(self, booking_id: str) -> Step:
        cancel = self._cancel(booking_id, "product not available for infusion")

        async def step() -> None:
            self._cancelled.add(booking_id)
            await cancel()

        return step

    async def _unbooked(self, why: str) -> None:
        """Not a GMP deadline (no deviation): people plan what logistics could not book."""
        self._note(self._stage, why)
        await self._notify(
            NotificationReason.DEADLINE_MISSED,
            f"{why}: the treatment center plans lymphodepletion and infusion itself",
        )
