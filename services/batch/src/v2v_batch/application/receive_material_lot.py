"""Receive a supplier's lot of a defined material at a site: into quarantine."""

from __future__ import annotations

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.material_lot import MaterialLot, Receipt
from ..domain.material_master import MaterialDefinition
from .common import operator, who


async def receive_material_lot(
    uow: UnitOfWork, material_code: str, receipt: Receipt, actor: Actor
) -> MaterialLot:
    """The lot, with a new id (the label the handler prints); 422 ``material-unknown``
    for a code the material master does not define."""
    definition = await uow.repository(MaterialDefinition).find(
        MaterialDefinition.stream_for(material_code)
    )
    if definition is None or definition.defined is None:
        raise DomainError(
            "material-unknown",
            f"material_code {material_code!r} is not in the material master",
            field="material_code",
        )
    lot = MaterialLot.receive(
        uow.ids.new_id(),
        definition.defined,
        receipt,
        received_at=uow.clock.now(),
        received_by=operator(actor),
    )
    await uow.repository(MaterialLot).save(lot, who(actor))
    return lot
