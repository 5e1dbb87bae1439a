"""Activities: the journey acts only by publishing commands (and its own events) to Kafka.

Each message id is derived from workflow id + run id + activity id: a retried activity
publishes the same id and the receiving inbox applies it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio import activity

from v2v_events import REGISTRY, to_kafka
from v2v_events.catalog import Service, source_of
from v2v_events.contracts.batch import OpenBatch, RejectLot, Remanufacture
from v2v_events.contracts.custody import RejectUnit
from v2v_events.contracts.holds import PlaceHold
from v2v_events.contracts.journey import JourneyEnded, TreatmentCenterNotified
from v2v_events.contracts.logistics import (
    BookInfusionSlot,
    BookLymphodepletion,
    BookShipment,
    CancelBooking,
    ScheduleCollection,
)
from v2v_events.contracts.qc import OrderPanel
from v2v_events.registry import Contract
from v2v_runtime.kafka import Publisher
from v2v_runtime.tracing import current_carrier

from .model import JOURNEY_ACTOR

SOURCE = source_of(Service.JOURNEY)
_NAMESPACE = uuid.UUID("6f1c1c8e-3d7e-4c55-9a43-0b5f2f6f7a10")


def message_id(workflow_id: str, run_id: str, activity_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{workflow_id}/{run_id}/{activity_id}"))


class JourneyActivities:
    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def _send(self, message: Contract, coi: str) -> str:
        info = activity.info()
        env = REGISTRY.envelope(
            message,
            subject=coi,
            source=SOURCE,
            id=message_id(info.workflow_id or "", info.workflow_run_id or "", info.activity_id),
            time=datetime.now(UTC),
            correlationid=info.workflow_id or None,
            actor=JOURNEY_ACTOR.user_id,
        )
        carrier = current_carrier()
        if carrier:
            env = env.model_copy(
                update={
                    "traceparent": carrier.get("traceparent"),
                    "tracestate": carrier.get("tracestate"),
                }
            )
        rec = to_kafka(env)
        topic = REGISTRY.for_model(type(message)).topic
        await self._publisher.send(topic, rec.key, rec.value, list(rec.headers))
        return env.id

    @activity.defn(name="schedule-collection")
    async def schedule_collection(self, cmd: ScheduleCollection) -> str:
        return await self._send(cmd, cmd.coi)

    @activity.defn(name="book-shipment")
    async def book_shipment(self, cmd: BookShipment) -> str:
        return await self._send(cmd, cmd.coi)

    @activity.defn(name="book-infusion-slot")
    async def book_infusion_slot(self, cmd: BookInfusionSlot) -> str:
        return await self._send(cmd, cmd.coi)

    @activity.defn(name="book-lymphodepletion")
    async def book_lymphodepletion(self, cmd: BookLymphodepletion) -> str:
        return await self._send(cmd, cmd.coi)

    @activity.defn(name="cancel-booking")
    async def cancel_booking(self, cmd: CancelBooking) -> str:
        return await self._send(cmd, cmd.coi)

    @activity.defn(name="open-batch")
    async def open_batch(self, cmd: OpenBatch) -> str:
        return await self._send(cmd, cmd.coi)

    @activity.defn(name="remanufacture-from-retained-material")
    async def remanufacture(self, cmd: Remanufacture) -> str:
        return await self._send(cmd, cmd.coi)

    @activity.defn(name="request-hold")
    async def place_hold(self, cmd: PlaceHold) -> str:
        return await self._send(cmd, cmd.coi)

    # Only for journeys whose history rejected before issue 16 (saga.HOLD_NOT_REJECT): a
    # compensation now asks QC for a hold, disposition is QA's.
    @activity.defn(name="reject-lot")
    async def reject_lot(self, cmd: RejectLot) -> str:
        return await self._send(cmd, cmd.coi)

    @activity.defn(name="reject-unit")
    async def reject_unit(self, cmd: RejectUnit) -> str:
        return await self._send(cmd, cmd.coi)

    @activity.defn(name="order-qc-panel")
    async def order_panel(self, cmd: OrderPanel) -> str:
        return await self._send(cmd, cmd.coi)

    @activity.defn(name="notify-treatment-center")
    async def notify_treatment_center(self, event: TreatmentCenterNotified) -> str:
        return await self._send(event, event.coi)

    @activity.defn(name="announce-journey-end")
    async def announce_end(self, event: JourneyEnded) -> str:
        return await self._send(event, event.coi)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.schedule_collection,
            self.book_shipment,
            self.book_infusion_slot,
            self.book_lymphodepletion,
            self.cancel_booking,
            self.open_batch,
            self.remanufacture,
            self.place_hold,
            self.reject_lot,
            self.reject_unit,
            self.order_panel,
            self.notify_treatment_center,
            self.announce_end,
        ]
