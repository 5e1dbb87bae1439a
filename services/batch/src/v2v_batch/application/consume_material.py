"""The materials gate at a step of a batch: a scanned lot is consumed only if it is the
material asked for, at the batch's site, released, not expired at the time of use and has
the quantity left; consuming draws the lot down and records the lot in the batch's
materials (the genealogy).

A refused use raises ``RefusedScan`` (a 422 problem naming the reason and the field). The
refused scan is recorded in the batch's record once the act's transaction has rolled back:
wrap the unit of work in ``refused_scans_recorded`` —

    async with refused_scans_recorded(kit.uow), uow:
        batch = await uow.repository(Batch).get(batch_id)
        await MaterialLots(uow).consume(batch, step, use, caller.actor)

This is the port the step execution calls (``MaterialLots.check_use`` for a dry check,
``consume`` to use); ``POST /batches/{batch_id}/steps/{step}/materials`` is its route."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict
from v2v_runtime.uow import UnitOfWork

from ..domain import Batch, Operator, Step
from ..domain.batch_materials import BatchMaterials, MaterialUse
from ..domain.material_events import MaterialConsumed
from ..domain.material_lot import MaterialLot, MaterialUseRefused
from ..domain.steps import check_order
from .common import operator, who


class RefusedScan(MaterialUseRefused):
    """A refused use with what the batch's record keeps of it (``record``)."""

    def __init__(
        self,
        refusal: MaterialUseRefused,
        *,
        batch_id: str,
        step: str,
        use: MaterialUse,
        at: datetime,
        by: Operator,
        actor: dict[str, Any],
    ) -> None:
        super().__init__(refusal.code, refusal.detail, **refusal.extra)
        self.refusal, self.batch_id, self.step, self.use = refusal, batch_id, step, use
        self.at, self.by, self.actor = at, by, actor

    async def record(self, uow: UnitOfWork) -> None:
        """Keep the refused scan in the batch's materials (its own transaction)."""
        materials = uow.repository(BatchMaterials)
        stream = BatchMaterials.stream_for(self.batch_id)
        found = await materials.find(stream) or BatchMaterials(stream)
        found.refuse_scan(self.use, self.refusal, step=self.step, at=self.at, by=self.by)
        await materials.save(found, self.actor)


@asynccontextmanager
async def refused_scans_recorded(new_uow: Callable[[], UnitOfWork]) -> AsyncIterator[None]:
    """Record a ``RefusedScan`` raised inside (after the act's unit of work rolled back, in
    a new one), then let it go on to become the 422 problem."""
    try:
        yield
    except RefusedScan as refused:
        async with new_uow() as uow:
            await refused.record(uow)
        raise


def check_consuming_step(batch: Batch, step: Step) -> None:
    """Materials are consumed at the step being performed: the batch's next step, while the
    batch is open (its lot not produced)."""
    if batch.spec is None:
        raise ValueError("the batch is not loaded")
    if batch.lot is not None:
        raise Conflict(
            "lot-already-produced",
            f"batch {batch.id} has produced lot {batch.lot.lot_id}: it consumes no material",
            lot_id=batch.lot.lot_id,
        )
    check_order(batch.id, step, batch.steps, batch.next_step)


class MaterialLots:
    """The material lots of the service, in ``uow``'s transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def check_use(
        self,
        material_code: str,
        lot_id: str,
        quantity: float,
        unit: str,
        at: datetime,
        *,
        site: str,
    ) -> Decimal:
        """The quantity in the lot's unit if the lot may be used so at ``at`` at ``site``;
        ``MaterialUseRefused`` (422, naming the reason and the field) otherwise."""
        lot = await self._lot(lot_id)
        return lot.check_use(material_code, quantity, unit, at, site)

    async def consume(
        self, batch: Batch, step: Step, use: MaterialUse, actor: Actor
    ) -> MaterialConsumed:
        """``actor`` uses the lot at ``step`` of ``batch`` now; ``RefusedScan`` if refused."""
        check_consuming_step(batch, step)
        at, by = self.uow.clock.now(), operator(actor)
        try:
            lot = await self._lot(use.lot_id)
            needed = lot.consume(
                batch_id=batch.id,
                step=step.value,
                material_code=use.material_code,
                quantity=use.quantity,
                unit=use.unit,
                at=at,
                site=batch.manufacturing_site,
            )
        except MaterialUseRefused as refusal:
            raise RefusedScan(
                refusal, batch_id=batch.id, step=step.value, use=use, at=at, by=by, actor=who(actor)
            ) from None
        materials = self.uow.repository(BatchMaterials)
        stream = BatchMaterials.stream_for(batch.id)
        record = await materials.find(stream) or BatchMaterials(stream)
        assert lot.received is not None
        consumed = record.consume(
            use,
            step=step.value,
            lot_quantity=needed,
            lot_unit=lot.received.unit,
            coi=batch.coi,
            site=batch.manufacturing_site,
            at=at,
            by=by,
        )
        await self.uow.repository(MaterialLot).save(lot, who(actor))
        await materials.save(record, who(actor))
        return consumed

    async def _lot(self, lot_id: str) -> MaterialLot:
        found = await self.uow.repository(MaterialLot).find(MaterialLot.stream_for(lot_id))
        if found is None:
            raise MaterialUseRefused(
                "material-lot-unknown",
                f"no material lot {lot_id!r} was received",
                field="lot_id",
                lot_id=lot_id,
            )
        return found
