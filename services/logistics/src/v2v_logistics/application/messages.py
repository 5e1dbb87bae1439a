"""Logistics' bookings and domain events -> its public contracts (libs/events)."""

from __future__ import annotations

from datetime import date

from v2v_events.bounds import clip
from v2v_events.contracts import logistics as contracts
from v2v_events.contracts.common import Actor, LoggerSummary

from ..domain.booking import Booking
from ..domain.events import (
    CollectionBooked,
    CollectionWaitDecided,
    InfusionSlotHeld,
    LymphodepletionBooked,
)


def collection_scheduled(booking: Booking, actor: Actor) -> contracts.CollectionScheduled:
    booked = booking.booked
    assert isinstance(booked, CollectionBooked)
    return contracts.CollectionScheduled(
        coi=booked.coi,
        booking_id=booking.id,
        apheresis_center=booked.apheresis_center,
        collection_date=booked.collection_date,
        manufacturing_site=booked.manufacturing_site,
        manufacturing_slot_date=booked.manufacturing_slot_date,
        attempt=booked.attempt,
        actor=actor,
    )


def collection_unschedulable(
    cmd: contracts.ScheduleCollection, searched_from: date, searched_until: date, reason: str
) -> contracts.CollectionUnschedulable:
    return contracts.CollectionUnschedulable(
        coi=cmd.coi,
        manufacturing_site=cmd.manufacturing_site,
        searched_from=searched_from,
        searched_until=searched_until,
        reason=clip(reason),
        attempt=cmd.attempt,
    )


def shipment_booked(booking: Booking, actor: Actor) -> contracts.ShipmentBooked:
    booked = booking.shipment_booked()
    return contracts.ShipmentBooked(
        coi=booked.coi,
        shipment_id=booking.id,
        direction=booked.direction,
        temperature_class=booked.temperature_class,
        unit_ids=list(booked.unit_ids),
        origin=booked.origin,
        destination=booked.destination,
        attempt=booked.attempt,
        actor=actor,
    )


def infusion_slot_booked(booking: Booking, actor: Actor) -> contracts.InfusionSlotBooked:
    held = booking.booked
    assert isinstance(held, InfusionSlotHeld)
    return contracts.InfusionSlotBooked(
        coi=held.coi,
        booking_id=booking.id,
        treatment_center=held.treatment_center,
        infusion_date=held.infusion_date,
        lymphodepletion_start=held.lymphodepletion_start,
        attempt=held.attempt,
        actor=actor,
    )


def lymphodepletion_booked(booking: Booking, actor: Actor) -> contracts.LymphodepletionBooked:
    planned = booking.booked
    assert isinstance(planned, LymphodepletionBooked)
    return contracts.LymphodepletionBooked(
        coi=planned.coi,
        booking_id=booking.id,
        treatment_center=planned.treatment_center,
        start_date=planned.start_date,
        infusion_booking_id=planned.infusion_booking_id,
        infusion_date=planned.infusion_date,
        attempt=planned.attempt,
        actor=actor,
    )


def booking_cancelled(booking: Booking, reason: str, actor: Actor) -> contracts.BookingCancelled:
    cancellation = booking.cancellation
    assert cancellation is not None and booking.kind is not None
    return contracts.BookingCancelled(
        coi=booking.coi,
        booking_id=booking.id,
        kind=booking.kind,
        reason=reason,
        cancelled_at=cancellation.cancelled_at,
        actor=actor,
    )


def shipment_picked_up(booking: Booking, actor: Actor) -> contracts.ShipmentPickedUp:
    booked = booking.shipment_booked()
    picked = booking.pickup
    assert picked is not None
    return contracts.ShipmentPickedUp(
        coi=booked.coi,
        shipment_id=booking.id,
        direction=booked.direction,
        courier=picked.courier,
        picked_up_at=picked.picked_up_at,
        actor=actor,
    )


def shipment_delivered(booking: Booking, actor: Actor) -> contracts.ShipmentDelivered:
    booked = booking.shipment_booked()
    report, delivery = booking.logger, booking.delivery
    assert report is not None and delivery is not None
    return contracts.ShipmentDelivered(
        coi=booked.coi,
        shipment_id=booking.id,
        direction=booked.direction,
        delivered_at=delivery.delivered_at,
        logger=LoggerSummary(**report.model_dump()),
        actor=actor,
        unit_ids=booked.unit_ids,
        temperature_class=booked.temperature_class,
        origin=booked.origin,
        destination=booked.destination,
    )


def scheduling_decided(
    coi: str, decided: CollectionWaitDecided, actor: Actor
) -> contracts.SchedulingDecided:
    return contracts.SchedulingDecided(
        coi=coi,
        attempt=decided.attempt,
        decision=decided.decision,
        reason=decided.reason,
        decided_at=decided.decided_at,
        actor=actor,
    )
