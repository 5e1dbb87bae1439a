"""HTTP API of logistics, for couriers and coordinators. Reads come from the read models;
changes go through the same application functions as the Kafka commands."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import ShipmentDirection
from v2v_events.contracts.logistics import BookingKind, SchedulingDecided
from v2v_events.ids import COI_PATTERN
from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.errors import DomainError, NotFound
from v2v_runtime.http_deps import NewUow
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


R = Roles
READERS = (
    R.LOGISTICS_COORDINATOR,
    R.TREATMENT_CENTER_COORDINATOR,
    R.APHERESIS_NURSE,
    R.COURIER,
    R.MATERIALS_HANDLER,
    R.MANUFACTURING_SUPERVISOR,
    R.CELL_THERAPY_SPECIALIST,
    R.QA_REVIEWER,
    R.INFUSION_NURSE,
    R.AUDITOR,
)
Reader = Annotated[Caller, allowed(*READERS)]
ShipmentReader = Annotated[Caller, allowed(*READERS, R.COURIER_INTEGRATION)]
Coordinator = Annotated[Caller, allowed(R.LOGISTICS_COORDINATOR, R.TREATMENT_CENTER_COORDINATOR)]
Carrier = Annotated[Caller, allowed(R.COURIER, R.LOGISTICS_COORDINATOR, R.COURIER_INTEGRATION)]
Planner = Annotated[
    Caller,
    allowed(
        R.LOGISTICS_COORDINATOR,
        R.TREATMENT_CENTER_COORDINATOR,
        R.MANUFACTURING_SUPERVISOR,
        R.ADMINISTRATOR,
        R.AUDITOR,
    ),
]
PLACES = ("apheresis_center", "manufacturing_site", "origin", "destination", "treatment_center")


def booking_sites(details: dict[str, Any]) -> list[str]:
    """The places a booking involves: a caller of any of them sees it."""
    return [str(details[k]) for k in PLACES if details.get(k)]


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


async def _shipment_view(uow: UnitOfWork, caller: Caller, shipment_id: str) -> ShipmentView:
    """404 for a shipment that does not exist or touches none of the caller's sites."""
    row = await queries.get_shipment(uow.session, shipment_id)
    if row is None or not caller.may_see(row["origin"], row["destination"]):
        raise NotFound("shipment-not-found", f"no shipment {shipment_id!r}")
    return ShipmentView.of(row)


async def _booking_view(uow: UnitOfWork, caller: Caller, booking_id: str) -> BookingView:
    row = await queries.get_booking(uow.session, booking_id)
    if row is None or not caller.may_see(*booking_sites(row["details"])):
        raise NotFound("booking-not-found", f"no booking {booking_id!r}")
    return BookingView.of(row)


def build_router(network: NetworkConfig, reported_times: ReportedTimeWindow) -> APIRouter:
    router = APIRouter(tags=["logistics"])

    @router.get("/bookings")
    async def list_bookings(
        uow: NewUow, caller: Reader, coi: CoIQuery, kind: BookingKind | None = None
    ) -> list[BookingView]:
        async with uow:
            rows = await queries.list_bookings(uow.session, coi, kind)
        return [BookingView.of(r) for r in rows if caller.may_see(*booking_sites(r["details"]))]

    @router.get("/bookings/{booking_id}")
    async def get_booking(uow: NewUow, caller: Reader, booking_id: str) -> BookingView:
        async with uow:
            return await _booking_view(uow, caller, booking_id)

    @router.post("/bookings/{booking_id}/cancel")
    async def cancel(
        uow: NewUow, booking_id: str, body: CancelRequest, caller: Coordinator
    ) -> BookingView:
        async with uow:
            await _booking_view(uow, caller, booking_id)
            await cancel_booking(uow, booking_id, body.reason, caller.actor)
            return await _booking_view(uow, caller, booking_id)

    @router.post("/collections/{coi}/decision", status_code=201)
    async def post_scheduling_decision(
        uow: NewUow, coi: CoIPath, body: SchedulingDecisionEntry, caller: Coordinator
    ) -> SchedulingDecided:
        """While the patient's collection cannot be scheduled (no free manufacturing slot),
        the journey asks again from time to time and waits; a coordinator decides how it goes
        on: ``keep-waiting`` (its reminders restart) or ``end-journey``. 404 when no
        collection of the patient ever waited, 409 when none waits now."""
        async with uow:
            return await decide_scheduling(uow, coi, body, caller.actor, caller.may_see)

    @router.get("/shipments")
    async def list_shipments(
        uow: NewUow,
        caller: ShipmentReader,
        coi: CoIQuery,
        direction: ShipmentDirection | None = None,
        status: BookingStatus | None = None,
    ) -> list[ShipmentView]:
        async with uow:
            rows = await queries.list_shipments(uow.session, coi, direction, status)
        return [ShipmentView.of(r) for r in rows if caller.may_see(r["origin"], r["destination"])]

    @router.get("/shipments/{shipment_id}")
    async def get_shipment(uow: NewUow, caller: ShipmentReader, shipment_id: str) -> ShipmentView:
        async with uow:
            return await _shipment_view(uow, caller, shipment_id)

    @router.post("/shipments/{shipment_id}/pickup")
    async def pickup(uow: NewUow, shipment_id: str, body: Pickup, caller: Carrier) -> ShipmentView:
        async with uow:
            await _shipment_view(uow, caller, shipment_id)
            await pick_up_shipment(uow, shipment_id, body, caller.actor, reported_times)
            return await _shipment_view(uow, caller, shipment_id)

    @router.post("/shipments/{shipment_id}/delivery")
    async def delivery(
        uow: NewUow, shipment_id: str, body: Delivery, caller: Carrier
    ) -> ShipmentView:
        async with uow:
            await _shipment_view(uow, caller, shipment_id)
            await deliver_shipment(uow, network, shipment_id, body, caller.actor, reported_times)
            return await _shipment_view(uow, caller, shipment_id)

    @router.get("/capacity/{site}")
    async def capacity(
        uow: NewUow,
        caller: Planner,
        site: str,
        first: Annotated[date | None, Query(alias="from")] = None,
        last: Annotated[date | None, Query(alias="to")] = None,
    ) -> CapacityView:
        """Slots per day at a manufacturing site. Without ``from``: the slot days a collection
        booked today can reach (today + transit + lead, over the scheduling horizon)."""
        caller.require_site(site, "capacity planning")
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
