"""Capacity: one aggregate per resource and day (a manufacturing site's slots, a treatment
center's infusion slots), so two bookings racing for the last slot of a day write the same
stream and the optimistic concurrency check lets only one of them through.

Also the search plans: which days to try, in order, within the scheduling horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict

from .events import SlotReleased, SlotReserved, SlotResource
from .network import NetworkConfig


def slot_day_id(resource_kind: SlotResource, resource: str, day: date) -> str:
    prefix = "slots" if resource_kind is SlotResource.MANUFACTURING else "infusion-slots"
    return f"{prefix}-{resource}-{day.isoformat()}"


def is_slot_day_id(stream_id: str) -> bool:
    return stream_id.startswith(("slots-", "infusion-slots-"))


class SlotDay(Aggregate):
    """The slots of one resource on one day: who holds them (booking id -> CoI)."""

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.holders: dict[str, str] = {}

    @property
    def booked(self) -> int:
        return len(self.holders)

    def has_room(self, capacity: int) -> bool:
        return self.booked < capacity

    def reserve(
        self,
        resource_kind: SlotResource,
        resource: str,
        day: date,
        *,
        booking_id: str,
        coi: str,
        capacity: int,
    ) -> None:
        if booking_id in self.holders:
            return
        if not self.has_room(capacity):
            raise Conflict(
                "slot-day-full",
                f"no free {resource_kind.value} slot at {resource} on {day.isoformat()}",
                capacity=capacity,
            )
        self._record(
            SlotReserved(
                resource_kind=resource_kind,
                resource=resource,
                day=day,
                booking_id=booking_id,
                coi=coi,
            )
        )

    def release(
        self, resource_kind: SlotResource, resource: str, day: date, booking_id: str
    ) -> bool:
        """Free the booking's slot; False when it holds none (already released)."""
        if booking_id not in self.holders:
            return False
        self._record(
            SlotReleased(
                resource_kind=resource_kind, resource=resource, day=day, booking_id=booking_id
            )
        )
        return True

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, SlotReserved):
            self.holders[event.booking_id] = event.coi
        elif isinstance(event, SlotReleased):
            self.holders.pop(event.booking_id, None)
        else:
            raise TypeError(f"a slot day does not apply {type(event).__name__}")


# --- search plans -------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionOption:
    collection_date: date
    slot_date: date


@dataclass(frozen=True)
class CollectionSearch:
    """Collection dates to try, first to last; ``searched_*`` are manufacturing slot dates."""

    options: list[CollectionOption]
    searched_from: date
    searched_until: date


def collection_search(
    network: NetworkConfig, site_name: str, earliest: date, today: date
) -> CollectionSearch:
    """Collections from ``earliest`` (never in the past) over the horizon, keeping only those
    whose manufacturing slot (collection + transit + lead) falls on a manufacturing day.
    DomainError for an unknown site or an ``earliest`` beyond the booking window."""
    site = network.site(site_name)
    network.check_booking_window(earliest, today)
    offset = timedelta(days=network.collection.collection_to_slot_days)
    first = max(earliest, today)
    collections = [first + timedelta(days=i) for i in range(network.scheduling_horizon_days)]
    options = [
        CollectionOption(c, c + offset) for c in collections if site.capacity_on(c + offset) > 0
    ]
    return CollectionSearch(options, collections[0] + offset, collections[-1] + offset)


@dataclass(frozen=True)
class InfusionOption:
    lymphodepletion_start: date
    infusion_date: date


def infusion_search(
    network: NetworkConfig,
    center_name: str,
    earliest: date,
    today: date,
    gap_days: int | None = None,
) -> list[InfusionOption]:
    """Lymphodepletion may start from ``earliest`` (product availability confirmed, never in
    the past); infusion follows after the center's lead, or the product's ``gap_days`` when
    that is longer; only infusion days with slots. DomainError for an unknown center or an
    ``earliest`` beyond the booking window."""
    center = network.center(center_name)
    network.check_booking_window(earliest, today)
    lead = timedelta(days=max(center.lymphodepletion_lead_days, gap_days or 0))
    first = max(earliest, today)
    starts = [first + timedelta(days=i) for i in range(network.scheduling_horizon_days)]
    return [InfusionOption(s, s + lead) for s in starts if center.capacity_on(s + lead) > 0]
