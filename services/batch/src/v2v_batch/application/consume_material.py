"""The materials gate at a step of a batch: a scanned lot is used only if it is the material
asked for, at the batch's site, released, not held by QC (``material-lot-held``), not
expired at the time of use and has the quantity left; using it draws the lot down and
records the lot in the batch's materials (the genealogy).

The port step execution calls, ``MaterialLots(uow)``:

- ``check_use(material_code, lot_id, quantity, unit, at, site=...)``: a dry check — the
  quantity in the lot's unit, or ``MaterialUseRefused`` (422 naming the reason and the
  field), recorded nowhere;
- ``check_scans(batch, step, uses, actor)``: the scans of a step before anyone signs (the
  quantities of one lot add up), refused with a ``RecordedRefusal``;
- ``consume(batch, step, use, actor)``: the use, checked again, refused the same way.

A ``RecordedRefusal`` is kept in the batch's materials as a refused scan once the act's
transaction has rolled back — ``async with keeping_refusals(uow), uow: ...``
(adapters/http/refusals.py) — and answers 422. Bad input (a unit that does not convert, a
quantity out of range) is a plain 422, not a scan. ``step`` is the step's name (a fixed
process step, or an MBR step id); which step may consume is the caller's rule
(``check_consuming_step`` for the fixed process)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from v2v_events.contracts.common import Actor
from v2v_events.contracts.holds import HoldItemKind
from v2v_runtime.errors import Conflict
from v2v_runtime.holds import describe, held_details
from v2v_runtime.holds_inbox import holds_on
from v2v_runtime.uow import UnitOfWork

from ..domain import Batch, Step
from ..domain.batch_materials import BatchMaterials, MaterialUse
from ..domain.material_events import MaterialConsumed
from ..domain.material_lot import MaterialLot, MaterialUseRefused
from ..domain.steps import check_order
from .common import operator, who
from .refusals import Record, RecordedRefusal


def check_consuming_step(batch: Batch, step: Step) -> None:
    """In the fixed process, materials are consumed at the step being performed: the
    batch's next step, while its lot is not produced."""
    if batch.lot is not None:
        raise Conflict(
            "lot-already-produced",
            f"batch {batch.id} has produced lot {batch.lot.lot_id}: it consumes no material",
            lot_id=batch.lot.lot_id,
        )
    check_order(batch.id, step, batch.steps, batch.next_step)


def _recorder(
    batch_id: str, step: str, use: MaterialUse, refusal: MaterialUseRefused, at: datetime, by: Actor
) -> Record:
    async def record(uow: UnitOfWork) -> None:
        materials = uow.repository(BatchMaterials)
        stream = BatchMaterials.stream_for(batch_id)
        found = await materials.find(stream) or BatchMaterials(stream)
        found.refuse_scan(use, refusal, step=step, at=at, by=operator(by))
        await materials.save(found, who(by))

    return record


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

    async def check_scans(
        self,
        batch: Batch,
        step: str,
        uses: Sequence[MaterialUse],
        actor: Actor,
        at: datetime | None = None,
    ) -> None:
        """Every scan of ``step`` may be used at ``at`` (now by default), several of one
        lot together; else a ``RecordedRefusal`` of the first refused."""
        at = at or self.uow.clock.now()
        reserved: dict[str, Decimal] = defaultdict(Decimal)
        for use in uses:
            try:
                lot = await self._lot(use.lot_id)
                reserved[use.lot_id] += lot.check_use(
                    use.material_code,
                    use.quantity,
                    use.unit,
                    at,
                    batch.manufacturing_site,
                    reserved=reserved[use.lot_id],
                )
            except MaterialUseRefused as refusal:
                raise self._refused(batch, step, use, refusal, at, actor) from None

    async def consume(
        self,
        batch: Batch,
        step: str,
        use: MaterialUse,
        actor: Actor,
        at: datetime | None = None,
    ) -> MaterialConsumed:
        """``actor`` uses the lot at ``step`` of ``batch`` at ``at`` (now by default): the
        lot drawn down, the use in the batch's materials; a ``RecordedRefusal`` if refused."""
        at = at or self.uow.clock.now()
        try:
            lot = await self._lot(use.lot_id)
            needed = lot.consume(
                batch_id=batch.id,
                step=step,
                material_code=use.material_code,
                quantity=use.quantity,
                unit=use.unit,
                at=at,
                site=batch.manufacturing_site,
            )
        except MaterialUseRefused as refusal:
            raise self._refused(batch, step, use, refusal, at, actor) from None
        assert lot.received is not None
        materials = self.uow.repository(BatchMaterials)
        stream = BatchMaterials.stream_for(batch.id)
        record = await materials.find(stream) or BatchMaterials(stream)
        consumed = record.consume(
            use,
            step=step,
            lot_quantity=needed,
            lot_unit=lot.received.unit,
            coi=batch.coi,
            site=batch.manufacturing_site,
            at=at,
            by=operator(actor),
        )
        await self.uow.repository(MaterialLot).save(lot, who(actor))
        await materials.save(record, who(actor))
        return consumed

    @staticmethod
    def _refused(
        batch: Batch,
        step: str,
        use: MaterialUse,
        refusal: MaterialUseRefused,
        at: datetime,
        actor: Actor,
    ) -> RecordedRefusal:
        return RecordedRefusal(refusal, _recorder(batch.id, step, use, refusal, at, actor))

    async def _lot(self, lot_id: str) -> MaterialLot:
        found = await self.uow.repository(MaterialLot).find(MaterialLot.stream_for(lot_id))
        if found is None:
            raise MaterialUseRefused(
                "material-lot-unknown",
                f"no material lot {lot_id!r} was received",
                field="lot_id",
                lot_id=lot_id,
            )
        held = await holds_on(self.uow, (HoldItemKind.MATERIAL_LOT, lot_id))
        if held:  # QC holds it (a deviation's containment, QA) until QA releases the hold
            raise MaterialUseRefused(
                "material-lot-held",
                f"material lot {lot_id} is held: {describe(held)}",
                field="lot_id",
                lot_id=lot_id,
                **held_details(held),
            )
        return found
