"""Queries on the read models (plain rows as dicts; the HTTP adapter shapes them)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_events.contracts.common import ShipmentDirection
from v2v_events.contracts.logistics import BookingKind

from ...application.ports import BookingIndex
from ...domain.booking import BookingStatus
from ...domain.events import SlotResource
from .tables import bookings, shipments, slot_days

Row = dict[str, Any]


async def active_booking_id(
    session: AsyncSession,
    kind: BookingKind,
    coi: str,
    attempt: int,
    direction: ShipmentDirection | None = None,
) -> str | None:
    """The booking (not cancelled) already made for this intent, if any."""
    query = select(bookings.c.booking_id).where(
        bookings.c.kind == kind.value,
        bookings.c.coi == coi,
        bookings.c.attempt == attempt,
        bookings.c.status != BookingStatus.CANCELLED.value,
    )
    if direction is not None:
        query = query.where(bookings.c.direction == direction.value)
    row = (await session.execute(query.order_by(bookings.c.booked_at).limit(1))).first()
    return None if row is None else str(row.booking_id)


async def list_bookings(
    session: AsyncSession, coi: str, kind: BookingKind | None = None
) -> list[Row]:
    query = select(bookings).where(bookings.c.coi == coi)
    if kind is not None:
        query = query.where(bookings.c.kind == kind.value)
    result = await session.execute(query.order_by(bookings.c.booked_at, bookings.c.booking_id))
    return [dict(r) for r in result.mappings()]


async def get_booking(session: AsyncSession, booking_id: str) -> Row | None:
    row = (
        (await session.execute(select(bookings).where(bookings.c.booking_id == booking_id)))
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


async def list_shipments(
    session: AsyncSession,
    coi: str,
    direction: ShipmentDirection | None = None,
    status: BookingStatus | None = None,
) -> list[Row]:
    query = select(shipments).where(shipments.c.coi == coi)
    if direction is not None:
        query = query.where(shipments.c.direction == direction.value)
    if status is not None:
        query = query.where(shipments.c.status == status.value)
    result = await session.execute(query.order_by(shipments.c.booked_at, shipments.c.shipment_id))
    return [dict(r) for r in result.mappings()]


async def get_shipment(session: AsyncSession, shipment_id: str) -> Row | None:
    row = (
        (await session.execute(select(shipments).where(shipments.c.shipment_id == shipment_id)))
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


async def booked_per_day(
    session: AsyncSession, resource_kind: SlotResource, resource: str, first: date, last: date
) -> dict[date, int]:
    result = await session.execute(
        select(slot_days.c.day, slot_days.c.booked).where(
            slot_days.c.resource_kind == resource_kind.value,
            slot_days.c.resource == resource,
            slot_days.c.day >= first,
            slot_days.c.day <= last,
        )
    )
    return {r.day: int(r.booked) for r in result}


class SqlBookingIndex(BookingIndex):
    """The application's BookingIndex port over the bookings read model."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def active_booking_id(
        self,
        kind: BookingKind,
        coi: str,
        attempt: int,
        direction: ShipmentDirection | None = None,
    ) -> str | None:
        return await active_booking_id(self._session, kind, coi, attempt, direction)
