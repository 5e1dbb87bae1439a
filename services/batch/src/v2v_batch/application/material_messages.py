"""Material lots -> public contracts (v2v_events.contracts.batch)."""

from __future__ import annotations

from v2v_events.contracts import batch as contracts
from v2v_events.contracts.common import Actor

from ..domain.material_lot import MaterialLot


def material_lot_released(lot: MaterialLot, actor: Actor) -> contracts.MaterialLotReleased:
    got, released = lot.received, lot.released
    assert got is not None and released is not None
    return contracts.MaterialLotReleased(
        lot_id=lot.lot_id,
        material_code=got.material_code,
        material_type=contracts.MaterialType(got.material_type.value),
        site=got.site,
        supplier=got.supplier,
        supplier_lot=got.supplier_lot,
        certificate_ref=got.certificate_ref,
        expires_at=got.expires_at,
        released_at=released.released_at,
        actor=actor,
    )


def material_lot_rejected(lot: MaterialLot, actor: Actor) -> contracts.MaterialLotRejected:
    got, rejected = lot.received, lot.rejected
    assert got is not None and rejected is not None
    return contracts.MaterialLotRejected(
        lot_id=lot.lot_id,
        material_code=got.material_code,
        material_type=contracts.MaterialType(got.material_type.value),
        site=got.site,
        supplier=got.supplier,
        supplier_lot=got.supplier_lot,
        reason=rejected.reason,
        rejected_at=rejected.rejected_at,
        actor=actor,
    )
