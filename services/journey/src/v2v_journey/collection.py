"""Collection: schedule it, wait for the apheresis, ship it fresh (2-8 °C) to the
manufacturing site and wait for its receipt within the stability window. Either deadline
missed: what is booked is compensated and the collection must be redone."""

from __future__ import annotations

from datetime import UTC, datetime, time

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from v2v_events.contracts.common import ShipmentDirection, TemperatureClass
    from v2v_events.contracts.custody import CollectionRecorded, LocationKind, UnitReceived
    from v2v_events.contracts.journey import NotificationReason
    from v2v_events.contracts.logistics import BookShipment, ShipmentBooked

    from .activities import JourneyActivities
    from .mailbox import Expect
    from .model import Stage

from .mechanics import SYSTEM
from .saga import JourneySaga
from .scheduling import Scheduling

# workflow.patched id: histories recorded before it replay the old way
LATE_APHERESIS_FREES_SLOT = "late-apheresis-frees-slot"  # was: its slot stayed booked


class Collection(Scheduling, JourneySaga):
    async def _collect(self) -> CollectionRecorded | None:
        """Schedule, collect, ship and receive the apheresis; None if it must be redone."""
        p, inp, n = self.inp.policy, self.inp, self._collection_attempt
        self._note(Stage.SCHEDULING, f"collection attempt {n}")
        answer = await self._schedule()
        self._current["collection_booking"] = answer.booking_id
        saga = self._saga()
        saga.add(
            "cancel-collection", self._cancel(answer.booking_id, "collection not made in time")
        )
        self._note(Stage.COLLECTION, f"collection on {answer.collection_date}")
        start = max(datetime.combine(answer.collection_date, time.min, UTC), workflow.now())
        collected = await self._wait_any(
            "collection", start + p.collection_due - workflow.now(), Expect(CollectionRecorded)
        )
        if not isinstance(collected, CollectionRecorded):
            await self._compensate(
                saga,
                NotificationReason.DEADLINE_MISSED,
                "collection not recorded",
                deadline="collection",
            )
            return None
        self._done(saga)
        unit = collected.unit_id
        self._current.update(apheresis_unit=unit, din=collected.din)
        saga = self._saga()
        if workflow.patched(LATE_APHERESIS_FREES_SLOT):
            # Apheresis that never reaches manufacturing leaves its slot unused: free it.
            saga.add(
                "cancel-collection",
                self._cancel(answer.booking_id, "apheresis not received: its slot is not used"),
            )
        saga.add("hold-apheresis-unit", self._hold_unit(unit))
        saga.add(
            "cancel-inbound-shipment",
            self._cancel_booked(
                Expect(
                    ShipmentBooked,
                    lambda m: m.direction == ShipmentDirection.INBOUND and unit in m.unit_ids,
                ),
                lambda m: m.shipment_id,
                "apheresis past its stability window",
            ),
        )
        self._note(Stage.INBOUND_SHIPMENT, f"DIN {collected.din} collected, shipping fresh")
        await self._act(
            JourneyActivities.book_shipment,
            BookShipment(
                coi=inp.coi,
                direction=ShipmentDirection.INBOUND,
                temperature_class=TemperatureClass.FRESH_2_8,
                unit_ids=[unit],
                origin=collected.apheresis_center,
                destination=inp.manufacturing_site,
                attempt=n,
                actor=SYSTEM,
            ),
            "book inbound shipment (2-8 °C)",
        )
        window_ends = collected.collection_ended_at + p.fresh_window
        received = await self._wait_any(
            "apheresis-receipt",
            window_ends - workflow.now(),
            Expect(
                UnitReceived,
                lambda m: m.unit_id == unit and m.location_kind == LocationKind.MANUFACTURING_SITE,
            ),
        )
        if received is None:
            self._failure = f"apheresis {collected.din} not received within its stability window"
            await self._compensate(
                saga, NotificationReason.APHERESIS_LATE, self._failure, deadline="apheresis-receipt"
            )
            return None
        self._done(saga)
        return collected
