"""Re-manufacture from retained apheresis material of an earlier lot's apheresis unit.

The previous lot may be quarantined or rejected: the batch service does not know QA
release (QC owns it), and an out-of-specification lot may be kept until the new one is
in specification; the journey decides when to ask and bounds the attempts."""

from __future__ import annotations

from v2v_events.contracts.batch import Remanufacture, RemanufactureRefused
from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict
from v2v_runtime.uow import UnitOfWork

from ..domain import NO_RETAINED_MATERIAL, ApheresisMaterial, Batch, ProductCatalog, Source
from .common import batch_of_lot, operator, who
from .messages import batch_opened
from .pin_mbr import pin_effective_mbr


async def remanufacture(
    uow: UnitOfWork,
    catalog: ProductCatalog,
    cmd: Remanufacture,
    actor: Actor,
) -> str | None:
    """The new (or already opened) batch's id; None when no retained material remains."""
    previous = await batch_of_lot(uow, cmd.previous_lot_id, cmd.coi)
    materials, batches = uow.repository(ApheresisMaterial), uow.repository(Batch)
    material = await materials.get(ApheresisMaterial.stream_for(previous.apheresis_unit_id))
    existing = material.batch_for(cmd.attempt)
    if existing is not None:
        batch = await batches.get(existing)
        await uow.publish(batch_opened(batch), subject=batch.coi)
        return batch.id
    if cmd.attempt <= previous.attempt:
        raise Conflict(
            "attempt-not-after-previous",
            f"attempt {cmd.attempt} does not follow lot {cmd.previous_lot_id}'s attempt "
            f"{previous.attempt}",
        )
    if material.remaining < 1:
        refused = RemanufactureRefused(
            coi=cmd.coi,
            previous_lot_id=cmd.previous_lot_id,
            reason=NO_RETAINED_MATERIAL,
            attempt=cmd.attempt,
        )
        await uow.publish(refused, subject=cmd.coi)
        return None

    batch = Batch.open(
        uow.ids.new_id(),
        coi=previous.coi,
        manufacturing_site=previous.manufacturing_site,
        source=Source.RETAINED_APHERESIS,
        apheresis_unit_id=previous.apheresis_unit_id,
        din=previous.din,
        attempt=cmd.attempt,
        product_code=previous.product_code,
        spec=catalog.spec_for(previous.product_code),
        opened_at=uow.clock.now(),
        opened_by=operator(actor),
        previous_lot_id=cmd.previous_lot_id,
    )
    await pin_effective_mbr(uow, batch)
    material.use_retained_aliquot(
        coi=cmd.coi, batch_id=batch.id, attempt=cmd.attempt, previous_lot_id=cmd.previous_lot_id
    )
    await materials.save(material, who(actor))
    await batches.save(batch, who(actor))
    await uow.publish(batch_opened(batch), subject=batch.coi)
    return batch.id
