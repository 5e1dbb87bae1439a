"""QA's disposition of a material lot: release (signed, meaning released) against the
supplier's certificate and the incoming checks, or rejection (signed, meaning rejected).
What the lot refuses is refused before anyone signs; the release is never the receiver's.
A rejection names the batches that had already used the lot (its genealogy: a recall after
use), for QC's deviation on them."""

from __future__ import annotations

from typing import Any

from v2v_runtime.uow import UnitOfWork

from ..domain.equipment_rules import batches_used
from ..domain.material_lot import MaterialLot
from .common import operator
from .material_messages import material_lot_rejected, material_lot_released
from .ports import MaterialGenealogy, Sign


def _lot_values(lot: MaterialLot) -> dict[str, Any]:
    """The lot as the signer sees it: what was received, its certificate and expiry."""
    got = lot.received
    assert got is not None
    return {
        "lot_id": lot.lot_id,
        "material_code": got.material_code,
        "material_type": got.material_type.value,
        "site": got.site,
        "supplier": got.supplier,
        "supplier_lot": got.supplier_lot,
        "certificate_ref": got.certificate_ref,
        "quantity": got.quantity,
        "unit": got.unit,
        "expires_at": got.expires_at.isoformat(),
        "received_at": got.received_at.isoformat(),
        "received_by": got.received_by.model_dump(mode="json"),
    }


async def release_material_lot(
    uow: UnitOfWork, lot_id: str, note: str | None, sign: Sign
) -> MaterialLot:
    lots = uow.repository(MaterialLot)
    lot = await lots.get(MaterialLot.stream_for(lot_id))
    lot.check_release(uow.clock.now())
    got = lot.received
    assert got is not None
    signed = await sign(
        f"I release material lot {lot_id} ({got.material_code}, supplier lot "
        f"{got.supplier_lot}) for use, having reviewed certificate {got.certificate_ref} and "
        "the incoming checks.",
        {**_lot_values(lot), "note": note},
    )
    lot.release(
        by=operator(signed.actor),
        at=uow.clock.now(),
        signature_id=signed.signature_id,
        note=note,
    )
    await lots.save(lot, signed.who)
    await uow.publish(material_lot_released(lot, signed.actor), subject=lot_id)
    return lot


async def reject_material_lot(uow: UnitOfWork, lot_id: str, reason: str, sign: Sign) -> MaterialLot:
    lots = uow.repository(MaterialLot)
    lot = await lots.get(MaterialLot.stream_for(lot_id))
    lot.check_rejection(reason)
    got = lot.received
    assert got is not None
    signed = await sign(
        f"I reject material lot {lot_id} ({got.material_code}, supplier lot "
        f"{got.supplier_lot}): no batch may use it.",
        {**_lot_values(lot), "reason": reason},
    )
    lot.reject(
        reason=reason,
        by=operator(signed.actor),
        at=uow.clock.now(),
        signature_id=signed.signature_id,
    )
    await lots.save(lot, signed.who)
    # Batches that had used it (a recall after use): QC opens a deviation on them.
    used_by = batches_used(await uow.port(MaterialGenealogy).uses_of(lot_id))
    await uow.publish(material_lot_rejected(lot, signed.actor, used_by), subject=lot_id)
    return lot
