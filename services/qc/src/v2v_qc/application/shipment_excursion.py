"""A shipment delivered with a data-logger excursion (logistics' ``shipment.delivered``
with ``logger.excursion``: a reading outside the temperature class's limits, a data gap, a
tilt or shock alarm) opens one deviation on the chain of identity, naming the shipment, its
direction and units and the logger's findings. One per shipment (a shipment is delivered
once): its id follows from the shipment's.

Its class is the policy's for the direction: an outbound shipment carries the patient's
cryopreserved product (critical by default), an inbound one the fresh apheresis (major by
default). Seen at the manufacturing site it left (outbound) or reached (inbound); the lot
whose bags it carried, when QC knows it, is linked (its release, or further use, held)."""

from __future__ import annotations

from v2v_events.bounds import clip
from v2v_events.contracts.common import ShipmentDirection
from v2v_events.contracts.logistics import ShipmentDelivered
from v2v_runtime.uow import UnitOfWork

from ..domain.deviation import SHIPMENT_EXCURSION_SOURCE, Deviation
from ..domain.raising import RaisingPolicy
from . import messages
from .deviations_on_chain import Occurrence, occurrence_id, open_on_chain


def deviation_id_of(msg: ShipmentDelivered) -> str:
    return occurrence_id(SHIPMENT_EXCURSION_SOURCE, msg.shipment_id)


def description(msg: ShipmentDelivered) -> str:
    log = msg.logger
    route = f" from {msg.origin} to {msg.destination}" if msg.origin and msg.destination else ""
    kind = f" ({msg.temperature_class.value})" if msg.temperature_class else ""
    units = f" Units: {', '.join(msg.unit_ids)}." if msg.unit_ids else ""
    return clip(
        f"The {msg.direction.value} shipment {msg.shipment_id}{kind}{route} was delivered on "
        f"{msg.delivered_at.isoformat()} with a data-logger excursion: "
        f"{log.excursion_detail or 'flagged by the logger'} ({log.readings} readings, "
        f"{log.min_c} to {log.max_c} °C).{units}"
    )


async def open_for_excursion(
    uow: UnitOfWork, msg: ShipmentDelivered, policy: RaisingPolicy
) -> Deviation | None:
    """The deviation of this delivery's excursion (None: no excursion, or opened already)."""
    if not msg.logger.excursion:
        return None
    outbound = msg.direction is ShipmentDirection.OUTBOUND
    manufacturing_end = msg.origin if outbound else msg.destination
    occurrence = Occurrence(
        deviation_id=deviation_id_of(msg),
        coi=msg.coi,
        source=SHIPMENT_EXCURSION_SOURCE,
        classification=policy.shipment_excursion[msg.direction],
        description=description(msg),
        site=manufacturing_end,
        unit_ids=msg.unit_ids,
        shipment_id=msg.shipment_id,
    )
    return await open_on_chain(uow, occurrence, messages.who(msg.actor))
