"""Keeps the read models current from logistics' domain events, in the transaction that
stores them; the same function rebuilds them by replay (application/rebuild.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_events.contracts.logistics import BookingKind
from v2v_runtime.domain import DomainEvent
from v2v_runtime.eventstore import StoredEvent
from v2v_runtime.holds import HOLD_EVENTS, HoldKept, HoldLifted
from v2v_runtime.repository import EventCodec

from ...domain.booking import BookingStatus
from ...domain.events import (
    ALL_EVENTS,
    BookingCancelled,
    CollectionBooked,
    InfusionSlotHeld,
    LymphodepletionBooked,
    ShipmentBooked,
    ShipmentDelivered,
    ShipmentPickedUp,
    SlotReleased,
    SlotReserved,
)
from .tables import bookings, shipments, slot_days

# QC's unit holds, kept per unit (v2v_runtime.holds): the streams are the record.
CODEC = EventCodec("logistics", (*ALL_EVENTS, *HOLD_EVENTS))


async def project(session: AsyncSession, stored: StoredEvent, event: DomainEvent) -> None:
    if isinstance(event, HoldKept | HoldLifted):
        return  # enforced from the unit's holds stream (application/shipment_movements.py)
    booking_id, at = stored.stream_id, stored.recorded_at
    details: dict[str, Any]
    if isinstance(event, CollectionBooked):
        details = {
            "apheresis_center": event.apheresis_center,
            "collection_date": event.collection_date.isoformat(),
            "manufacturing_site": event.manufacturing_site,
            "manufacturing_slot_date": event.manufacturing_slot_date.isoformat(),
        }
        await _insert_booking(session, booking_id, BookingKind.COLLECTION, event, details, at)
    elif isinstance(event, InfusionSlotHeld):
        details = {
            "treatment_center": event.treatment_center,
            "lymphodepletion_start": event.lymphodepletion_start.isoformat(),
            "infusion_date": event.infusion_date.isoformat(),
        }
        await _insert_booking(session, booking_id, BookingKind.INFUSION_SLOT, event, details, at)
    elif isinstance(event, LymphodepletionBooked):
        details = {
            "treatment_center": event.treatment_center,
            "start_date": event.start_date.isoformat(),
            "infusion_booking_id": event.infusion_booking_id,
            "infusion_date": event.infusion_date.isoformat(),
        }
        await _insert_booking(session, booking_id, BookingKind.LYMPHODEPLETION, event, details, at)
    elif isinstance(event, ShipmentBooked):
        details = {
            "direction": event.direction.value,
            "temperature_class": event.temperature_class.value,
            "unit_ids": list(event.unit_ids),
            "origin": event.origin,
            "destination": event.destination,
        }
        await _insert_booking(
            session, booking_id, BookingKind.SHIPMENT, event, details, at, event.direction.value
        )
        await session.execute(
            insert(shipments).values(
                shipment_id=booking_id,
                coi=event.coi,
                direction=event.direction.value,
                temperature_class=event.temperature_class.value,
                unit_ids=list(event.unit_ids),
                origin=event.origin,
                destination=event.destination,
                status=BookingStatus.BOOKED.value,
                attempt=event.attempt,
                config_version=event.config_version,
                booked_at=at,
                updated_at=at,
            )
        )
    elif isinstance(event, ShipmentPickedUp):
        status = BookingStatus.PICKED_UP.value
        await _update(session, booking_id, {"status": status, "updated_at": at})
        await session.execute(
            update(shipments)
            .where(shipments.c.shipment_id == booking_id)
            .values(
                status=status,
                courier=event.courier,
                picked_up_at=event.picked_up_at,
                pickup_late=event.late,
                updated_at=at,
            )
        )
    elif isinstance(event, ShipmentDelivered):
        status = BookingStatus.DELIVERED.value
        await _update(session, booking_id, {"status": status, "updated_at": at})
        await session.execute(
            update(shipments)
            .where(shipments.c.shipment_id == booking_id)
            .values(
                status=status,
                delivered_at=event.delivered_at,
                delivery_late=event.late,
                logger=event.logger.model_dump(mode="json"),
                tilt_alarm=event.tilt_alarm,
                shock_alarm=event.shock_alarm,
                updated_at=at,
            )
        )
    elif isinstance(event, BookingCancelled):
        values = {
            "status": BookingStatus.CANCELLED.value,
            "cancelled_at": event.cancelled_at,
            "cancel_reason": event.reason,
            "updated_at": at,
        }
        await _update(session, booking_id, values)
        await session.execute(
            update(shipments).where(shipments.c.shipment_id == booking_id).values(**values)
        )
    elif isinstance(event, SlotReserved | SlotReleased):
        await _count_slot(session, event, 1 if isinstance(event, SlotReserved) else -1)


async def _insert_booking(
    session: AsyncSession,
    booking_id: str,
    kind: BookingKind,
    event: CollectionBooked | ShipmentBooked | InfusionSlotHeld | LymphodepletionBooked,
    details: dict[str, Any],
    at: datetime,
    direction: str | None = None,
) -> None:
    await session.execute(
        insert(bookings).values(
            booking_id=booking_id,
            kind=kind.value,
            coi=event.coi,
            status=BookingStatus.BOOKED.value,
            attempt=event.attempt,
            direction=direction,
            config_version=event.config_version,
            details=details,
            booked_at=at,
            updated_at=at,
        )
    )


async def _update(session: AsyncSession, booking_id: str, values: dict[str, Any]) -> None:
    await session.execute(
        update(bookings).where(bookings.c.booking_id == booking_id).values(**values)
    )


async def _count_slot(
    session: AsyncSession, event: SlotReserved | SlotReleased, delta: int
) -> None:
    key = (
        (slot_days.c.resource_kind == event.resource_kind.value)
        & (slot_days.c.resource == event.resource)
        & (slot_days.c.day == event.day)
    )
    # Only the transaction that appended to the slot day's stream gets here (the stream's
    # optimistic concurrency check serialises writers), so read-then-write is safe.
    found = (await session.execute(select(slot_days.c.booked).where(key))).first()
    if found is None:
        await session.execute(
            insert(slot_days).values(
                resource_kind=event.resource_kind.value,
                resource=event.resource,
                day=event.day,
                booked=max(delta, 0),
            )
        )
    else:
        await session.execute(
            update(slot_days).where(key).values(booked=max(int(found.booked) + delta, 0))
        )
