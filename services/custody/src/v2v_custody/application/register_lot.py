"""LotProduced (from batch): register one final-product unit per bag, bound for the
patient's treatment center. Bags already registered are left as they are."""

from __future__ import annotations

import logging

from v2v_events.contracts import batch
from v2v_runtime.errors import Conflict
from v2v_runtime.uow import UnitOfWork

from ..domain.patient import Patient
from ..domain.unit import Unit
from . import messages
from .actors import who

log = logging.getLogger("v2v.custody.register_lot")


async def register_lot(uow: UnitOfWork, lot: batch.LotProduced) -> list[str]:
    """Returns the ids of the units registered now."""
    patient = await uow.repository(Patient).get(lot.coi)
    treatment_center = patient.enrolled.treatment_center
    repo = uow.repository(Unit)
    now = uow.clock.now()
    registered: list[str] = []
    for bag_id in dict.fromkeys(lot.bag_ids):  # de-duplicated, in order
        existing = await repo.find(bag_id)
        if existing is not None:
            if existing.coi != lot.coi or existing.lot_id != lot.lot_id:
                raise Conflict(
                    "unit-id-taken",
                    f"bag {bag_id!r} is already registered for another lot or patient",
                    unit_id=bag_id,
                )
            continue
        unit = Unit.register_final_product(
            bag_id,
            lot.coi,
            lot.lot_id,
            lot.manufacturing_site,
            treatment_center,
            lot.expires_at,
            now,
        )
        await repo.save(unit, who(lot.actor))
        registered.append(bag_id)
    if registered:
        await uow.publish(
            messages.units_registered(lot.coi, lot.lot_id, registered, lot.manufacturing_site),
            subject=lot.coi,
        )
        log.info(
            "final-product units registered",
            extra={"coi": lot.coi, "lot_id": lot.lot_id, "units": len(registered)},
        )
    return registered
