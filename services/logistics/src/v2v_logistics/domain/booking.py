"""A booking (stream id = booking id): a collection, a courier shipment, an infusion slot or
the lymphodepletion before it.

Status: booked -> cancelled; a shipment also moves booked -> picked-up -> delivered, and a
delivered shipment can no longer be cancelled. Cancelling twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Self

from v2v_events.contracts.common import ShipmentDirection, TemperatureClass
from v2v_events.contracts.logistics import BookingKind
from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError

from .events import (
    BookingCancelled,
    CollectionBooked,
    InfusionSlotHeld,
    LymphodepletionBooked,
    ShipmentBooked,
    ShipmentDelivered,
    ShipmentPickedUp,
    SlotResource,
)
from .logger import LoggerReport, Reading, summarise
from .network import NetworkConfig

Booked = CollectionBooked | ShipmentBooked | InfusionSlotHeld | LymphodepletionBooked


class BookingStatus(StrEnum):
    BOOKED = "booked"
    PICKED_UP = "picked-up"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Booking(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.kind: BookingKind | None = None
        self.status = BookingStatus.BOOKED
        self.coi = ""
        self.attempt = 1
        self.config_version = ""
        self.booked: Booked | None = None
        self.pickup: ShipmentPickedUp | None = None
        self.delivery: ShipmentDelivered | None = None
        self.cancellation: BookingCancelled | None = None

    # --- creation ---------------------------------------------------------------------

    @classmethod
    def collection(
        cls,
        booking_id: str,
        *,
        coi: str,
        attempt: int,
        apheresis_center: str,
        collection_date: date,
        manufacturing_site: str,
        manufacturing_slot_date: date,
        config_version: str,
    ) -> Self:
        booking = cls(booking_id)
        booking._record(
            CollectionBooked(
                coi=coi,
                attempt=attempt,
                apheresis_center=apheresis_center,
                collection_date=collection_date,
                manufacturing_site=manufacturing_site,
                manufacturing_slot_date=manufacturing_slot_date,
                config_version=config_version,
            )
        )
        return booking

    @classmethod
    def shipment(
        cls,
        shipment_id: str,
        *,
        coi: str,
        attempt: int,
        direction: ShipmentDirection,
        temperature_class: TemperatureClass,
        unit_ids: Sequence[str],
        origin: str,
        destination: str,
        config_version: str,
    ) -> Self:
        if not unit_ids:
            raise DomainError("shipment-without-units", "a shipment carries at least one unit")
        booking = cls(shipment_id)
        booking._record(
            ShipmentBooked(
                coi=coi,
                attempt=attempt,
                direction=direction,
                temperature_class=temperature_class,
                unit_ids=list(unit_ids),
                origin=origin,
                destination=destination,
                config_version=config_version,
            )
        )
        return booking

    @classmethod
    def infusion_slot(
        cls,
        booking_id: str,
        *,
        coi: str,
        attempt: int,
        treatment_center: str,
        infusion_date: date,
        lymphodepletion_start: date,
        config_version: str,
    ) -> Self:
        booking = cls(booking_id)
        booking._record(
            InfusionSlotHeld(
                coi=coi,
                attempt=attempt,
                treatment_center=treatment_center,
                infusion_date=infusion_date,
                lymphodepletion_start=lymphodepletion_start,
                config_version=config_version,
            )
        )
        return booking

    @classmethod
    def lymphodepletion(
        cls,
        booking_id: str,
        *,
        coi: str,
        attempt: int,
        treatment_center: str,
        start_date: date,
        infusion: Self,
        today: date,
        config_version: str,
    ) -> Self:
        """Lymphodepletion from ``start_date`` before ``infusion`` (an active infusion slot of
        the same CoI at the same center). DomainError for a start in the past or not before
        the infusion day; Conflict for an infusion slot that is cancelled."""
        slot = infusion.booked
        if not isinstance(slot, InfusionSlotHeld) or infusion.coi != coi:
            raise DomainError(
                "not-an-infusion-slot",
                f"booking {infusion.id!r} is not an infusion slot of {coi}",
                field="infusion_booking_id",
            )
        if infusion.status is BookingStatus.CANCELLED:
            raise Conflict(
                "infusion-slot-cancelled",
                f"infusion slot {infusion.id!r} is cancelled: book the lymphodepletion for "
                "an active one",
            )
        if slot.treatment_center != treatment_center:
            raise DomainError(
                "treatment-center-mismatch",
                f"infusion slot {infusion.id!r} is at {slot.treatment_center}, "
                f"not {treatment_center}",
                field="treatment_center",
            )
        if start_date < today:
            raise DomainError(
                "lymphodepletion-in-the-past",
                f"lymphodepletion cannot start on {start_date.isoformat()}, before today",
                field="start_date",
            )
        if start_date >= slot.infusion_date:
            raise DomainError(
                "lymphodepletion-not-before-infusion",
                f"lymphodepletion from {start_date.isoformat()} does not precede the "
                f"infusion on {slot.infusion_date.isoformat()}",
                field="start_date",
            )
        booking = cls(booking_id)
        booking._record(
            LymphodepletionBooked(
                coi=coi,
                attempt=attempt,
                treatment_center=treatment_center,
                start_date=start_date,
                infusion_booking_id=infusion.id,
                infusion_date=slot.infusion_date,
                config_version=config_version,
            )
        )
        return booking

    # --- what it holds --------------------------------------------------------------------

    def held_slot(self) -> tuple[SlotResource, str, date] | None:
        """The capacity this booking holds (freed on cancel), if any."""
        if isinstance(self.booked, CollectionBooked):
            b = self.booked
            return SlotResource.MANUFACTURING, b.manufacturing_site, b.manufacturing_slot_date
        if isinstance(self.booked, InfusionSlotHeld):
            return SlotResource.INFUSION, self.booked.treatment_center, self.booked.infusion_date
        return None

    def shipment_booked(self) -> ShipmentBooked:
        if not isinstance(self.booked, ShipmentBooked):
            raise DomainError("not-a-shipment", f"booking {self.id!r} is not a shipment")
        return self.booked

    # --- shipment movements -----------------------------------------------------------

    def pick_up(self, courier: str, picked_up_at: datetime, *, late: bool = False) -> bool:
        """Record the pickup; False if this very pickup is already recorded (a retry).
        ``late``: recorded more than the configured gap after ``picked_up_at``."""
        self.shipment_booked()
        self._refuse_if_cancelled("picked up")
        if self.pickup is not None:
            if self.pickup.courier == courier and self.pickup.picked_up_at == picked_up_at:
                return False
            raise Conflict(
                "already-picked-up",
                f"shipment {self.id!r} was already picked up by {self.pickup.courier} at "
                f"{self.pickup.picked_up_at.isoformat()}",
            )
        self._record(ShipmentPickedUp(courier=courier, picked_up_at=picked_up_at, late=late))
        return True

    def deliver(
        self,
        delivered_at: datetime,
        readings: Sequence[Reading],
        network: NetworkConfig,
        *,
        tilt_alarm: bool = False,
        shock_alarm: bool = False,
        late: bool = False,
    ) -> bool:
        """Record the delivery and the logger summary; False if this very delivery is already
        recorded (a retry). Refused before pickup, without readings, or before the pickup.
        ``late``: recorded more than the configured gap after ``delivered_at``."""
        booked = self.shipment_booked()
        self._refuse_if_cancelled("delivered")
        if self.delivery is not None:
            same = (
                self.delivery.delivered_at == delivered_at
                and self.delivery.readings == list(readings)
                and self.delivery.tilt_alarm == tilt_alarm
                and self.delivery.shock_alarm == shock_alarm
            )
            if same:
                return False
            raise Conflict(
                "already-delivered",
                f"shipment {self.id!r} was already delivered at "
                f"{self.delivery.delivered_at.isoformat()}",
            )
        if self.pickup is None:
            raise DomainError(
                "delivery-before-pickup", f"shipment {self.id!r} has not been picked up yet"
            )
        if delivered_at < self.pickup.picked_up_at:
            raise DomainError(
                "delivered-before-picked-up",
                f"delivered_at {delivered_at.isoformat()} is before the pickup at "
                f"{self.pickup.picked_up_at.isoformat()}",
            )
        if not readings:
            raise DomainError("no-logger-readings", "a delivery needs the data logger's readings")
        limits = network.limits(booked.temperature_class)
        max_gap = network.logger.max_data_gap_minutes
        report = summarise(
            readings, limits, max_gap, tilt_alarm=tilt_alarm, shock_alarm=shock_alarm
        )
        self._record(
            ShipmentDelivered(
                delivered_at=delivered_at,
                readings=list(readings),
                tilt_alarm=tilt_alarm,
                shock_alarm=shock_alarm,
                logger=report,
                limit_min_c=limits.min_c,
                limit_max_c=limits.max_c,
                max_data_gap_minutes=max_gap,
                config_version=network.config_version,
                late=late,
            )
        )
        return True

    @property
    def logger(self) -> LoggerReport | None:
        return None if self.delivery is None else self.delivery.logger

    # --- cancellation -------------------------------------------------------------------

    def cancel(self, reason: str, at: datetime) -> bool:
        """Cancel; False if already cancelled. A delivered shipment cannot be cancelled."""
        if self.status is BookingStatus.CANCELLED:
            return False
        if self.status is BookingStatus.DELIVERED:
            raise Conflict(
                "shipment-delivered",
                f"shipment {self.id!r} is already delivered and cannot be cancelled",
            )
        self._record(BookingCancelled(reason=reason, cancelled_at=at))
        return True

    def _refuse_if_cancelled(self, what: str) -> None:
        if self.status is BookingStatus.CANCELLED:
            raise Conflict(
                "booking-cancelled", f"shipment {self.id!r} is cancelled and cannot be {what}"
            )

    # --- state ----------------------------------------------------------------------------

    def apply(self, event: DomainEvent) -> None:
        if isinstance(
            event, CollectionBooked | ShipmentBooked | InfusionSlotHeld | LymphodepletionBooked
        ):
            self.booked = event
            self.coi = event.coi
            self.attempt = event.attempt
            self.config_version = event.config_version
            self.status = BookingStatus.BOOKED
            if isinstance(event, CollectionBooked):
                self.kind = BookingKind.COLLECTION
            elif isinstance(event, ShipmentBooked):
                self.kind = BookingKind.SHIPMENT
            elif isinstance(event, InfusionSlotHeld):
                self.kind = BookingKind.INFUSION_SLOT
            else:
                self.kind = BookingKind.LYMPHODEPLETION
        elif isinstance(event, ShipmentPickedUp):
            self.pickup = event
            self.status = BookingStatus.PICKED_UP
        elif isinstance(event, ShipmentDelivered):
            self.delivery = event
            self.status = BookingStatus.DELIVERED
        elif isinstance(event, BookingCancelled):
            self.cancellation = event
            self.status = BookingStatus.CANCELLED
        else:
            raise TypeError(f"a booking does not apply {type(event).__name__}")
