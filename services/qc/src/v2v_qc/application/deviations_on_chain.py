"""Deviations QC raises by itself on a chain of identity, with no lot of its own (a refused
receipt, a shipment's excursion, a missed deadline): one per occurrence. The id follows from
the source event's own identity — never the Kafka message's — so a message delivered or
published again opens nothing more.

The lots of that CoI QC knows the units are bags of, or the event names, are linked like
those of a deviation on batches (``hold_known_lots``): an open critical or major deviation
holds their release until QA closes it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from v2v_runtime.uow import UnitOfWork

from ..domain.common import Who
from ..domain.deviation import Deviation
from ..domain.events import Classification, DeviationBatch
from .deviations_on_batches import open_once
from .ports import BatchLots, KnownLot

# Ids of raised deviations: uuid5 of the source and the occurrence's identity (bounded).
NAMESPACE = uuid.UUID("0f6f6a0e-3c1e-4a8e-b1a4-6b2f5d7c9e21")


def occurrence_id(source: str, *identity: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join((source, *identity))))


@dataclass(frozen=True)
class Occurrence:
    """What a raised deviation says: ``site``, whose people see it (None: the site of the
    lots found; ``lot_site_first``: theirs even when ``site`` is given)."""

    deviation_id: str
    coi: str
    source: str
    classification: Classification
    description: str
    site: str | None
    unit_ids: Sequence[str] = ()
    shipment_id: str | None = None
    lot_ids: Sequence[str] = ()
    lot_site_first: bool = False


def _batch(lot: KnownLot) -> DeviationBatch:
    units = f": units {', '.join(lot.unit_ids)}" if lot.unit_ids else ""
    return DeviationBatch(batch_id=lot.batch_id, coi=lot.coi, detail=f"lot {lot.lot_id}{units}")


async def open_on_chain(uow: UnitOfWork, occurrence: Occurrence, by: Who) -> Deviation | None:
    """The deviation of this occurrence (None: opened already, by an earlier delivery)."""
    o = occurrence
    lots = await uow.port(BatchLots).lots_concerned(o.coi, o.unit_ids, o.lot_ids)
    lot_site = next((lot.manufacturing_site for lot in lots if lot.manufacturing_site), None)
    return await open_once(
        uow,
        o.deviation_id,
        by,
        lambda: Deviation.open_on_chain(
            o.deviation_id,
            coi=o.coi,
            source=o.source,
            classification=o.classification,
            description=o.description,
            site=(lot_site or o.site) if o.lot_site_first else (o.site or lot_site),
            unit_ids=o.unit_ids,
            shipment_id=o.shipment_id,
            batches=[_batch(lot) for lot in lots],
            by=by,
            at=uow.clock.now(),
        ),
    )
