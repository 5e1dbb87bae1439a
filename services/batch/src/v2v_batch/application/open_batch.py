"""Open a manufacturing batch from a received apheresis unit (idempotent per CoI,
apheresis unit and attempt: the existing batch's BatchOpened is published again)."""

from __future__ import annotations

from dataclasses import dataclass

from v2v_events.contracts.batch import OpenBatch
from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict
from v2v_runtime.uow import UnitOfWork

from ..domain import ApheresisMaterial, Batch, ProductCatalog, Source
from .common import NO_TRACE, Trace, batch_opened, batches, materials, operator, publish, save


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
    trace: Trace = NO_TRACE,
) -> Opened:
    stream = ApheresisMaterial.stream_for(cmd.apheresis_unit_id)
    material = await materials(uow).find(stream) or ApheresisMaterial.new(cmd.apheresis_unit_id)
    material.check_coi(cmd.coi)
    existing = material.batch_for(cmd.attempt)
    if existing is not None:
        batch = await batches(uow).get(existing)
        if (batch.din, batch.manufacturing_site) != (cmd.din, cmd.manufacturing_site) or (
            product_code is not None and product_code != batch.product_code
        ):
            raise Conflict(
                "batch-already-open",
                f"attempt {cmd.attempt} of apheresis unit {cmd.apheresis_unit_id} is batch "
                f"{batch.id}, opened with other details",
                batch_id=batch.id,
            )
        await publish(uow, batch_opened(batch), batch.coi, trace)
        return Opened(batch.id, created=False)

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
    material.use_fresh(coi=cmd.coi, batch_id=batch.id, attempt=cmd.attempt)
    await save(materials(uow), material, actor, trace)
    await save(batches(uow), batch, actor, trace)
    await publish(uow, batch_opened(batch), batch.coi, trace)
    return Opened(batch.id, created=True)
