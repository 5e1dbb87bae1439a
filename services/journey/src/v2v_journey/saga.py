"""The journey's saga: compensations registered before each step and run in reverse when
the step's stage fails, and the compensation steps themselves (cancel a booking, cancel what
a confirmation booked, ask QC to hold the lot or the apheresis unit). A compensation never
rejects anything: disposition is QA's alone, in QC (issue 16)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from v2v_events.bounds import clip
    from v2v_events.contracts.batch import LotProduced, RejectLot
    from v2v_events.contracts.common import ShipmentDirection, TemperatureClass
    from v2v_events.contracts.custody import RejectUnit
    from v2v_events.contracts.holds import HoldItemKind, PlaceHold
    from v2v_events.contracts.journey import NotificationReason
    from v2v_events.contracts.logistics import BookShipment, CancelBooking, ShipmentBooked
    from v2v_events.registry import Contract

    from .activities import JourneyActivities
    from .mailbox import Expect
    from .model import Stage

from .mechanics import SYSTEM, JourneyMechanics

# workflow.patched id: histories recorded before it replay the old way
HOLD_NOT_REJECT = "compensation-holds-not-rejects"  # was: reject the lot / apheresis unit

C = TypeVar("C", bound=Contract)
Step = Callable[[], Awaitable[None]]


class Compensations:
    def __init__(self) -> None:
        self._steps: list[tuple[str, Step]] = []
        self.done: list[str] = []

    def add(self, name: str, step: Step) -> None:
        self._steps.append((name, step))

    def __bool__(self) -> bool:
        return bool(self._steps)

    async def run(self) -> list[str]:
        """Every registered step, newest first; a failing step is logged and the rest still
        run (each step is idempotent, so an operator may safely re-run it)."""
        while self._steps:
            name, step = self._steps.pop()
            try:
                await step()
                self.done.append(name)
            except Exception:
                workflow.logger.exception("compensation %s failed", name)
                self.done.append(f"{name} (failed)")
        return self.done


class JourneySaga(JourneyMechanics):
    """The open sagas of one journey (one per stage that booked something)."""

    def __init__(self) -> None:
        super().__init__()
        self._sagas: list[Compensations] = []

    def _saga(self) -> Compensations:
        saga = Compensations()
        self._sagas.append(saga)
        return saga

    async def _book_outbound(
        self, lot: LotProduced, saga: Compensations, undone_because: str, label: str
    ) -> None:
        """The lot's outbound cryo shipment for this attempt, booked with its compensation
        (cancelled, ``undone_because``, if the lot does not make it)."""
        inp, n = self.inp, self._manufacturing_attempt
        saga.add(
            "cancel-outbound-shipment",
            self._cancel_booked(
                Expect(
                    ShipmentBooked,
                    lambda m: m.direction == ShipmentDirection.OUTBOUND and m.attempt == n,
                ),
                lambda m: m.shipment_id,
                undone_because,
            ),
        )
        await self._act(
            JourneyActivities.book_shipment,
            BookShipment(
                coi=inp.coi,
                direction=ShipmentDirection.OUTBOUND,
                temperature_class=TemperatureClass.CRYO_VAPOR,
                unit_ids=lot.bag_ids,
                origin=inp.manufacturing_site,
                destination=inp.treatment_center,
                attempt=n,
                actor=SYSTEM,
            ),
            label,
        )

    def _run_bookings(self, bookings: Compensations) -> Step:
        """A compensation step running a nested list (the bookings made after release)."""

        async def step() -> None:
            await bookings.run()
            self._done(bookings)

        return step

    def _done(self, saga: Compensations) -> None:
        if saga in self._sagas:
            self._sagas.remove(saga)

    async def _compensate(
        self,
        saga: Compensations,
        reason: NotificationReason,
        detail: str,
        lot_id: str | None = None,
        *,
        deadline: str | None = None,
    ) -> None:
        self._note(Stage.COMPENSATING, detail)
        done = await saga.run()
        self._done(saga)
        self._note(Stage.COMPENSATING, "compensated: " + (", ".join(done) or "nothing booked"))
        await self._notify(reason, detail, lot_id, deadline=deadline)

    async def _compensate_all(self) -> None:
        """Undo everything still booked, newest saga first (an operator cancelled)."""
        for saga in reversed(self._sagas):
            await saga.run()

    # --- compensation steps: built when the step is booked, run only on failure ---------------

    def _cancel(self, booking_id: str, reason: str) -> Step:
        async def step() -> None:
            await self._act(
                JourneyActivities.cancel_booking,
                CancelBooking(
                    coi=self.inp.coi, booking_id=booking_id, reason=clip(reason), actor=SYSTEM
                ),
                f"cancel booking {booking_id}",
            )

        return step

    def _cancel_booked(
        self, booked: Expect[C], booking_id: Callable[[C], str], reason: str
    ) -> Step:
        """Cancel what a service confirmed as ``booked``, once its confirmation is here."""

        async def step() -> None:
            confirmation = self._peek(booked)
            if confirmation is None:  # the confirmation may still be on its way
                try:
                    await workflow.wait_condition(
                        lambda: self._peek(booked) is not None,
                        timeout=self.inp.policy.command_reply,
                    )
                except TimeoutError:
                    workflow.logger.warning("nothing booked to cancel for %s", booked.kind.__name__)
                    return
                confirmation = self._peek(booked)
            assert confirmation is not None
            await self._cancel(booking_id(confirmation), reason)()

        return step

    def _hold_lot(self, lot_id: str) -> Step:
        """Ask QC to hold the lot (QA disposes of it). Journeys that rejected it before
        issue 16 replay that."""

        async def step() -> None:
            if workflow.patched(HOLD_NOT_REJECT):
                await self._request_hold(HoldItemKind.LOT, lot_id)
                return
            await self._act(
                JourneyActivities.reject_lot,
                RejectLot(
                    coi=self.inp.coi,
                    lot_id=lot_id,
                    reason=clip(self._failure or "journey compensation"),
                    deviation_id=self._deviation,
                    actor=SYSTEM,
                ),
                f"reject lot {lot_id}",
            )

        return step

    def _hold_unit(self, unit_id: str) -> Step:
        """Ask QC to hold the apheresis unit (QA disposes of it). Journeys that rejected it
        before issue 16 replay that."""

        async def step() -> None:
            if workflow.patched(HOLD_NOT_REJECT):
                await self._request_hold(HoldItemKind.UNIT, unit_id)
                return
            await self._act(
                JourneyActivities.reject_unit,
                RejectUnit(
                    coi=self.inp.coi,
                    unit_id=unit_id,
                    reason=clip(self._failure or "journey compensation"),
                    actor=SYSTEM,
                ),
                f"reject unit {unit_id}",
            )

        return step

    async def _request_hold(self, kind: HoldItemKind, item_id: str) -> None:
        # why the item is not used is known only when the step runs
        await self._act(
            JourneyActivities.place_hold,
            PlaceHold(
                coi=self.inp.coi,
                item_kind=kind,
                item_id=item_id,
                reason=clip(f"journey compensation: {self._failure or 'not used as planned'}"),
                deviation_id=self._deviation,
                site=self.inp.manufacturing_site,
                requested_by=workflow.info().workflow_id,
                actor=SYSTEM,
            ),
            f"ask QC to hold {kind.value} {item_id}",
        )
