"""Custody collected an apheresis unit (its public CollectionRecorded): batch records which
chain of identity and DIN the unit belongs to, then decides the requests to open a batch
from it that arrived first — open the batch when they match the collection, refuse them
(on record, logged) when they do not."""

from __future__ import annotations

import logging

from v2v_events.contracts.batch import OpenBatch
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import CollectionRecorded
from v2v_runtime.errors import DomainError
from v2v_runtime.lineage import Lineage
from v2v_runtime.uow import UnitOfWork

from ..domain import ApheresisMaterial, ProductCatalog
from .common import who
from .open_batch import open_fresh

log = logging.getLogger("v2v.batch.collection")


async def unit_collected(uow: UnitOfWork, catalog: ProductCatalog, msg: CollectionRecorded) -> None:
    materials = uow.repository(ApheresisMaterial)
    stream = ApheresisMaterial.stream_for(msg.unit_id)
    material = await materials.find(stream) or ApheresisMaterial.new(msg.unit_id)
    material.record_collection(
        coi=msg.coi,
        din=msg.din,
        apheresis_center=msg.apheresis_center,
        collection_ended_at=msg.collection_ended_at,
    )
    await materials.save(material, who(msg.actor))  # custody's actor: who collected
    for attempt, request in sorted(material.deferred.items()):
        by = Actor(user_id=request.requested_by.user_id, role=request.requested_by.role)
        try:
            material.check_collected(request.coi, request.din)
        except DomainError as refused:
            material.refuse_deferred(attempt, refused)
            await materials.save(material, who(by))
            log.warning(
                "deferred open batch refused: %s",
                refused.detail,
                extra={"coi": request.coi, "apheresis_unit_id": msg.unit_id, "code": refused.code},
            )
            continue
        cmd = OpenBatch(
            coi=request.coi,
            apheresis_unit_id=msg.unit_id,
            din=request.din,
            manufacturing_site=request.manufacturing_site,
            attempt=attempt,
            actor=by,
            product_code=request.product_code,
        )
        # The batch is the answer to the journey's command: same lineage as if opened then.
        collection = uow.lineage
        uow.lineage = Lineage(request.correlation_id, request.message_id or None)
        try:
            await open_fresh(uow, catalog, material, cmd, by, request.product_code)
        finally:
            uow.lineage = collection
