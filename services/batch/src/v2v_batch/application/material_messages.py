"""Material lots -> public contracts (v2v_events.contracts.batch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from v2v_events.contracts import batch as contracts
from v2v_events.contracts.common import Actor
from v2v_events.contracts.equipment import AFFECTED_BATCHES_MAX, UsedBatch

from ..domain.equipment_events import AffectedBatch
from ..domain.material_events import MaterialLotReceived
from ..domain.material_lot import MaterialLot


def _lot(lot: MaterialLot) -> tuple[MaterialLotReceived, dict[str, Any]]:
    """The lot as both messages name it: what was received, from whom."""
    got = lot.received
    assert got is not None
    return got, {
        "lot_id": lot.lot_id,
        "material_code": got.material_code,
        "material_type": contracts.MaterialType(got.material_type.value),
        "site": got.site,
        "supplier": got.supplier,
        "supplier_lot": got.supplier_lot,
    }


def material_lot_released(lot: MaterialLot, actor: Actor) -> contracts.MaterialLotReleased:
    got, named = _lot(lot)
    assert lot.released is not None
    return contracts.MaterialLotReleased(
        **named,
        certificate_ref=got.certificate_ref,
        expires_at=got.expires_at,
        released_at=lot.released.released_at,
        actor=actor,
    )


def material_lot_rejected(
    lot: MaterialLot, actor: Actor, used_by: Sequence[AffectedBatch]
) -> contracts.MaterialLotRejected:
    """``used_by``: the batches that had used the lot before its rejection (genealogy)."""
    _, named = _lot(lot)
    assert lot.rejected is not None
    return contracts.MaterialLotRejected(
        **named,
        reason=lot.rejected.reason,
        rejected_at=lot.rejected.rejected_at,
        actor=actor,
        batches=[
            UsedBatch(
                batch_id=b.batch_id,
                coi=b.coi,
                steps=list(b.steps),
                first_used_at=b.first_used_at,
                last_used_at=b.last_used_at,
            )
            for b in used_by[:AFFECTED_BATCHES_MAX]
        ],
        batch_count=len(used_by),
    )
