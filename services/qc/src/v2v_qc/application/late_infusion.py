"""A late infusion (custody's infusion.recorded flagged thaw-to-infusion-limit-exceeded: the
product was infused later after its thaw started than the product allows) opens one
deviation on the infused lot, source ``thaw-to-infusion-limit``, major unless the site
configures otherwise (V2V_LATE_INFUSION_DEVIATION_CLASSIFICATION). The infusion is on
record in custody — it happened —; the deviation is for QA to investigate its impact.

One per infusion: the deviation's id follows from the infusion's, so a message delivered or
published again opens nothing more. Published as qc.deviation.opened (it names one lot)."""

from __future__ import annotations

import uuid

from v2v_events.bounds import clip
from v2v_events.contracts.custody import THAW_TO_INFUSION_LIMIT_EXCEEDED, InfusionRecorded
from v2v_runtime.uow import UnitOfWork

from ..domain.deviation import THAW_LIMIT_SOURCE, Deviation
from ..domain.events import Classification
from ..domain.lot import Lot, lot_stream
from . import deviation_notices, messages

# Deviation ids of late infusions: uuid5 of the infusion's id (bounded length).
NAMESPACE = uuid.UUID("2f6a3c1e-8d0b-4b7e-a1c4-7e9d5b3f0a62")


def deviation_id_of(msg: InfusionRecorded) -> str:
    """One deviation per infusion: its id follows from the infusion's."""
    return str(uuid.uuid5(NAMESPACE, f"{msg.coi}/{msg.infusion_id}"))


def description(msg: InfusionRecorded) -> str:
    return clip(
        f"Infusion {msg.infusion_id} at {msg.treatment_center}: unit(s) "
        f"{', '.join(msg.unit_ids)} of lot(s) {', '.join(msg.lot_ids)} infused "
        f"{msg.thaw_to_infusion_minutes:g} min after their thaw started (limit "
        f"{msg.thaw_to_infusion_limit_minutes:g} min; thawed from {msg.thawed_at.isoformat()}, "
        f"infused at {msg.infused_at.isoformat()}). Recorded by custody; assess the impact on "
        "the patient and the product."
    )


async def open_for_late_infusion(
    uow: UnitOfWork, msg: InfusionRecorded, classification: Classification
) -> Deviation | None:
    """The deviation of this late infusion (None: the infusion was not late, or names no
    lot — a v1 message —, or its deviation was opened already, by an earlier delivery)."""
    if THAW_TO_INFUSION_LIMIT_EXCEEDED not in msg.flags or not msg.lot_ids:
        return None
    repo = uow.repository(Deviation)
    deviation_id = deviation_id_of(msg)
    if await repo.find(deviation_id) is not None:
        return None
    lot_id = msg.lot_ids[0]  # the infused lot (an autologous infusion is of one lot)
    lots = uow.repository(Lot)
    lot = await lots.find(lot_stream(lot_id)) or Lot.named(lot_id)
    by = messages.who(msg.actor)
    deviation = Deviation.open(
        deviation_id,
        coi=msg.coi,
        lot_id=lot_id,
        panel_id=lot.panel_id,
        classification=classification,
        source=THAW_LIMIT_SOURCE,
        description=description(msg),
        by=by,
        at=uow.clock.now(),
    )
    lot.link_deviation(msg.coi, deviation.id, classification)
    await repo.save(deviation, by.model_dump())
    await lots.save(lot, by.model_dump())
    await uow.publish(messages.deviation_opened(deviation), subject=msg.coi)
    await deviation_notices.deviation_opened(uow, deviation)
    return deviation
