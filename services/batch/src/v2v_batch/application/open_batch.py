"""Open a manufacturing batch from a received apheresis unit (idempotent per CoI,
apheresis unit and attempt: the existing batch's BatchOpened is published again).

Only from a unit custody has collected, for its chain of identity and DIN (batch learns
them from custody's CollectionRecorded). Over HTTP an unknown unit is a 422. The journey's
OpenBatch command may arrive before batch has read the CollectionRecorded (the two topics
are consumed independently): it is then deferred, on record, and decided when the
collection arrives (see unit_collected) — neither dead-lettered nor opened unchecked."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from v2v_events.contracts.batch import OpenBatch
from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict
from v2v_runtime.uow import UnitOfWork

from ..domain import ApheresisMaterial, Batch, ProductCatalog, Source
from .common import operator, who
from .messages import batch_opened
from .pin_mbr import pin_effective_mbr

log = logging.getLogger("v2v.batch.open")


@dataclass(frozen=True)
class Opened:
    batch_id: str
    created: bool


async def open_batch(
    uow: UnitOfWork,
    catalog: ProductCatalog,
    cmd: OpenBatch,
    actor: Actor,
    *,
    product_code: str | None = None,
    defer_until_collected: bool = False,
) -> Opened | None:
    """The batch opened (or already open); None when deferred until the unit's collection
    is known (``defer_until_collected``, the journey's command)."""
    materials = uow.repository(ApheresisMaterial)
    stream = ApheresisMaterial.stream_for(cmd.apheresis_unit_id)
    material = await materials.find(stream) or ApheresisMaterial.new(cmd.apheresis_unit_id)
    material.check_coi(cmd.coi)
    existing = material.batch_for(cmd.attempt)
    if existing is not None:
        batch = await uow.repository(Batch).get(existing)
        if (batch.din, batch.manufacturing_site) != (cmd.din, cmd.manufacturing_site) or (
            product_code is not None and product_code != batch.product_code
        ):
            raise Conflict(
                "batch-already-open",
                f"attempt {cmd.attempt} of apheresis unit {cmd.apheresis_unit_id} is batch "
                f"{batch.id}, opened with other details",
                batch_id=batch.id,
            )
        await uow.publish(batch_opened(batch), subject=batch.coi)
        return Opened(batch.id, created=False)

    if material.collected is None and defer_until_collected:
        if material.defer_open(
            coi=cmd.coi,
            din=cmd.din,
            manufacturing_site=cmd.manufacturing_site,
            attempt=cmd.attempt,
            product_code=product_code,
            requested_by=operator(actor),
            # The command's lineage, for the batch opened when the collection arrives.
            message_id=uow.lineage.causation_id or "",
            correlation_id=uow.lineage.correlation_id,
        ):
            await materials.save(material, who(actor))
        log.info(
            "open batch deferred until the unit's collection is known",
            extra={"coi": cmd.coi, "apheresis_unit_id": cmd.apheresis_unit_id},
        )
        return None
    material.check_collected(cmd.coi, cmd.din)
    return await open_fresh(uow, catalog, material, cmd, actor, product_code)


async def open_fresh(
    uow: UnitOfWork,
    catalog: ProductCatalog,
    material: ApheresisMaterial,
    cmd: OpenBatch,
    actor: Actor,
    product_code: str | None,
) -> Opened:
    """Open attempt ``cmd.attempt`` from the unit's fresh material (already checked)."""
    batch = Batch.open(
        uow.ids.new_id(),
        coi=cmd.coi,
        manufacturing_site=cmd.manufacturing_site,
        source=Source.FRESH_APHERESIS,
        apheresis_unit_id=cmd.apheresis_unit_id,
        din=cmd.din,
        attempt=cmd.attempt,
        product_code=product_code,
        spec=catalog.spec_for(product_code),
        opened_at=uow.clock.now(),
        opened_by=operator(actor),
    )
    await pin_effective_mbr(uow, batch)
    material.use_fresh(coi=cmd.coi, batch_id=batch.id, attempt=cmd.attempt)
    await uow.repository(ApheresisMaterial).save(material, who(actor))
    await uow.repository(Batch).save(batch, who(actor))
    await uow.publish(batch_opened(batch), subject=batch.coi)
    return Opened(batch.id, created=True)
