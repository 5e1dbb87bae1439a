"""OrderPanel: order the release panel of a lot from the product's current specification
(its newest version in effect: change control made later versions effective).

Idempotent per lot (and its CoI): ordering again republishes PanelOrdered for the panel
that exists; the specification version it was ordered with never changes.
"""

from __future__ import annotations

from v2v_events.contracts import qc as c
from v2v_runtime.uow import UnitOfWork

from ..domain.lot import Lot, lot_stream
from ..domain.panel import Panel
from ..domain.spec import SpecCatalog
from . import messages
from .change_control_ports import ChangeControls


async def order_panel(uow: UnitOfWork, cmd: c.OrderPanel, specs: SpecCatalog) -> c.PanelOrdered:
    lot_repo, panel_repo = uow.repository(Lot), uow.repository(Panel)
    lot = await lot_repo.find(lot_stream(cmd.lot_id)) or Lot.named(cmd.lot_id)
    lot.check_patient(cmd.coi)
    if lot.panel_id is not None:
        panel = await panel_repo.get(lot.panel_id)
    else:
        by = messages.who(cmd.actor)
        panel = Panel.order(
            uow.ids.new_id(),
            coi=cmd.coi,
            lot_id=cmd.lot_id,
            product_code=cmd.product_code,
            spec=specs.current(cmd.product_code, await uow.port(ChangeControls).effective_specs()),
            patient_weight_kg=cmd.patient_weight_kg,
            attempt=cmd.attempt,
            by=by,
            at=uow.clock.now(),
        )
        lot.assign_panel(cmd.coi, panel.id)
        await panel_repo.save(panel, by.model_dump())
        await lot_repo.save(lot, by.model_dump())
    message = messages.panel_ordered(panel)
    await uow.publish(message, subject=panel.coi)
    return message
