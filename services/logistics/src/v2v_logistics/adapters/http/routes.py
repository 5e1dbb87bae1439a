"""HTTP API of logistics, for couriers and coordinators. Reads come from the read models;
changes go through the same application functions as the Kafka commands."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import ShipmentDirection
from v2v_events.contracts.logistics import BookingKind, SchedulingDecided
from v2v_events.ids import COI_PATTERN
from v2v_runtime.errors import DomainError, NotFound
from v2v_runtime.http_deps import NewUow
from v2v_runtime.identity import CurrentActor
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ...application.cancel_booking import cancel_booking
from ...application.decide_scheduling import SchedulingDecisionEntry, decide_scheduling
from ...application.shipment_movements import (
    Delivery,
    Pickup,
    deliver_shipment,
    pick_up_shipment,
)
from ...application.views import BookingView, CapacityDay, CapacityView, ShipmentView
from ...domain.booking import BookingStatus
from ...domain.events import SlotResource
from ...domain.network import NetworkConfig
from ..db import queries

MAX_CAPACITY_DAYS = 366  # one request covers at most a year

CoIQuery = Annotated[str, Query(pattern=COI_PATTERN, description="chain-of-identity id")]
CoIPath = Annotated[str, Path(pattern=COI_PATTERN, description="chain-of-identity id")]


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


async def _shipment_view(uow: UnitOfWork, shipment_id: str) -> ShipmentView:
    row = await queries.get_shipment(uow.session, shipment_id)
    if row is None:
        raise NotFound("shipment-not-found", f"no shipment {shipment_id!r}")
    return ShipmentView.of(row)


async def _booking_view(uow: UnitOfWork, booking_id: str) -> BookingView:
    row = await queries.get_booking(uow.session, booking_id)
    if row is None:
        raise NotFound("booking-not-found", f"no booking {booking_id!r}")
    return BookingView.of(row)


def build_router(network: NetworkConfig, reported_times: ReportedTimeWindow) -> APIRouter:
    router = APIRouter(tags=["logistics"])

    @router.get("/bookings")
    async def list_bookings(
        uow: NewUow, coi: CoIQuery, kind: BookingKind | None = None
    ) -> list[BookingView]:
        async with uow:
            rows = await queries.list_bookings(uow.session, coi, kind)
        return [BookingView.of(r) for r in rows]

    @router.get("/bookings/{booking_id}")
    async def get_booking(uow: NewUow, booking_id: str) -> BookingView:
        async with uow:
            return await _booking_view(uow, booking_id)

    @router.post("/bookings/{booking_id}/cancel")
    async def cancel(
        uow: NewUow, booking_id: str, body: CancelRequest, actor: CurrentActor
    ) -> BookingView:
        async with uow:
            await cancel_booking(uow, booking_id, body.reason, actor)
            return await _booking_view(uow, booking_id)

    @router.post("/collections/{coi}/decision", status_code=201)
    async def post_scheduling_decision(
        uow: NewUow, coi: CoIPath, body: SchedulingDecisionEntry, actor: CurrentActor
    ) -> SchedulingDecided:
        """While the patient's collection cannot be scheduled (no free manufacturing slot),
        the journey asks again from time to time and waits; a coordinator decides how it goes
        on: ``keep-waiting`` (its reminders restart) or ``end-journey``. 404 when no
        collection of the patient ever waited, 409 when none waits now."""
        async with uow:
            return await decide_scheduling(uow, coi, body, actor)

    @router.get("/shipments")
    async def list_shipments(
        uow: NewUow,
        coi: CoIQuery,
        direction: ShipmentDirection | None = None,
        status: BookingStatus | None = None,
    ) -> list[ShipmentView]:
        async with uow:
            rows = await queries.list_shipments(uow.session, coi, direction, status)
        return [ShipmentView.of(r) for r in rows]

    @router.get("/shipments/{shipment_id}")
    async def get_shipment(uow: NewUow, shipment_id: str) -> ShipmentView:
        async with uow:
            return await _shipment_view(uow, shipment_id)

    @router.post("/shipments/{shipment_id}/pickup")
    async def pickup(
        uow: NewUow, shipment_id: str, body: Pickup, actor: CurrentActor
    ) -> ShipmentView:
        async with uow:
            await pick_up_shipment(uow, shipment_id, body, actor, reported_times)
            return await _shipment_view(uow, shipment_id)

    @router.post("/shipments/{shipment_id}/delivery")
    async def delivery(
        uow: NewUow, shipment_id: str, body: Delivery, actor: CurrentActor
    ) -> ShipmentView:
        async with uow:
            await deliver_shipment(uow, network, shipment_id, body, actor, reported_times)
            return await _shipment_view(uow, shipment_id)

    @router.get("/capacity/{site}")
    async def capacity(
        uow: NewUow,
        site: str,
        first: Annotated[date | None, Query(alias="from")] = None,
        last: Annotated[date | None, Query(alias="to")] = None,
    ) -> CapacityView:
        """Slots per day at a manufacturing site. Without ``from``: the slot days a collection
        booked today can reach (today + transit + lead, over the scheduling horizon)."""
        plan = network.site(site)
        if first is None:
            offset = network.collection.collection_to_slot_days
            first = uow.clock.now().date() + timedelta(days=offset)
        if last is None:
            try:
                last = first + timedelta(days=network.scheduling_horizon_days - 1)
            except OverflowError:  # 'from' within the horizon of 9999-12-31
                raise DomainError(
                    "invalid-date-range",
                    f"the default range ('from' plus {network.scheduling_horizon_days} days) "
                    "runs past the end of the calendar: give 'to'",
                ) from None
        span = (last - first).days + 1
        if span < 1 or span > MAX_CAPACITY_DAYS:
            raise DomainError(
                "invalid-date-range",
                f"'from' must not be after 'to', and the range is at most {MAX_CAPACITY_DAYS} days",
            )
        async with uow:
            booked = await queries.booked_per_day(
                uow.session, SlotResource.MANUFACTURING, site, first, last
            )
        days = []
        for i in range(span):
            d = first + timedelta(days=i)
            cap, n = plan.capacity_on(d), booked.get(d, 0)
            days.append(
                CapacityDay(
                    date=d,
                    manufacturing_day=plan.runs_on(d),
                    capacity=cap,
                    booked=n,
                    available=max(cap - n, 0),
                )
            )
        return CapacityView(site=site, config_version=network.config_version, days=days)

    return router
