"""A material lot found out of status after use (batch's ``material-lot.rejected`` naming
the batches that had already used it: a supplier's recall, a certificate found wrong)
opens one deviation on those batches, naming the material lot; major by default (the
policy's class). The lots QC knows of those batches are linked to it, and so is each one
registered later while it is open: a major deviation holds their release until QA closes it.

A lot rejected before any batch used it opens none: refusing it is the control working. One
per material lot (a lot is rejected once): its id follows from the material lot's."""

from __future__ import annotations

from v2v_events.bounds import clip
from v2v_events.contracts.batch import MaterialLotRejected
from v2v_runtime.uow import UnitOfWork

from ..domain.deviation import MATERIAL_SOURCE, Deviation
from ..domain.raising import RaisingPolicy
from . import messages
from .deviations_on_batches import named_batches, open_once
from .deviations_on_chain import occurrence_id


def deviation_id_of(msg: MaterialLotRejected) -> str:
    return occurrence_id(MATERIAL_SOURCE, msg.lot_id)


def description(msg: MaterialLotRejected) -> str:
    count = msg.batch_count if msg.batch_count is not None else len(msg.batches)
    more = count - len(msg.batches)
    return clip(
        f"Material lot {msg.lot_id} ({msg.material_type.value} {msg.material_code}, supplier "
        f"{msg.supplier} lot {msg.supplier_lot}, {msg.site}) was rejected by QA on "
        f"{msg.rejected_at.isoformat()} after use: {msg.reason}. Impact assessment: {count} "
        f"batch(es) used it: {', '.join(b.batch_id for b in msg.batches)}"
        + (f" and {more} more (batch's genealogy of {msg.lot_id})" if more > 0 else "")
        + "."
    )


async def open_for_rejected_material(
    uow: UnitOfWork, msg: MaterialLotRejected, policy: RaisingPolicy
) -> Deviation | None:
    """The deviation of this rejection (None: no batch used the lot, or opened already)."""
    if not msg.batches:
        return None
    deviation_id, by = deviation_id_of(msg), messages.who(msg.actor)
    return await open_once(
        uow,
        deviation_id,
        by,
        lambda: Deviation.open_on_batches(
            deviation_id,
            source=MATERIAL_SOURCE,
            classification=policy.material_out_of_status,
            description=description(msg),
            site=msg.site,
            equipment_id=None,
            material_lot_id=msg.lot_id,
            batches=named_batches(msg.batches),
            by=by,
            at=uow.clock.now(),
        ),
    )
