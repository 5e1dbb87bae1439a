"""What logistics' use cases need from storage beyond the event store. Implemented in
``adapters/db``, registered in the service's ``Persistence.ports`` (bootstrap.py) and
obtained with ``uow.port(Protocol)``, bound to the unit of work's transaction."""

from __future__ import annotations

from typing import Protocol

from v2v_events.contracts.common import ShipmentDirection
from v2v_events.contracts.logistics import BookingKind


class BookingIndex(Protocol):
    async def active_booking_id(
        self,
        kind: BookingKind,
        coi: str,
        attempt: int,
        direction: ShipmentDirection | None = None,
    ) -> str | None:
        """The booking (not cancelled) already made for this intent, if any."""
        ...
