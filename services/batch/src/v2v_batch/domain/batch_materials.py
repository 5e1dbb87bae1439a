"""What a batch consumed of material lots, step by step, and the scans refused at its
steps (stream ``batchmat-<batch id>``): the batch's side of the genealogy, part of its
CoI's record (audit trail)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from v2v_runtime.domain import Aggregate, DomainEvent

from .checks import check_identifier
from .events import Operator
from .material_events import MaterialConsumed, MaterialScanRefused
from .material_lot import MaterialUseRefused
from .material_units import as_float

STREAM_PREFIX = "batchmat-"


@dataclass(frozen=True)
class MaterialUse:
    """A lot scanned for use: the material asked for, the lot, how much of it."""

    material_code: str
    lot_id: str
    quantity: float
    unit: str


class BatchMaterials(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.consumed: list[MaterialConsumed] = []
        self.refused: list[MaterialScanRefused] = []

    @staticmethod
    def stream_for(batch_id: str) -> str:
        check_identifier("batch_id", batch_id)
        return f"{STREAM_PREFIX}{batch_id}"

    @classmethod
    def of(cls, batch_id: str) -> BatchMaterials:
        return cls(cls.stream_for(batch_id))

    def consume(
        self,
        use: MaterialUse,
        *,
        step: str,
        lot_quantity: Decimal,
        lot_unit: str,
        coi: str,
        site: str,
        at: datetime,
        by: Operator,
    ) -> MaterialConsumed:
        self._record(
            MaterialConsumed(
                lot_id=use.lot_id,
                material_code=use.material_code,
                step=step,
                quantity=use.quantity,
                unit=use.unit,
                lot_quantity=as_float(lot_quantity),
                lot_unit=lot_unit,
                coi=coi,
                site=site,
                used_at=at,
                used_by=by,
            )
        )
        return self.consumed[-1]

    def refuse_scan(
        self,
        use: MaterialUse,
        refusal: MaterialUseRefused,
        *,
        step: str,
        at: datetime,
        by: Operator,
    ) -> MaterialScanRefused:
        field = refusal.extra.get("field")
        self._record(
            MaterialScanRefused(
                step=step,
                material_code=use.material_code,
                lot_id=use.lot_id,
                quantity=use.quantity,
                unit=use.unit,
                code=refusal.code,
                reason=refusal.detail,
                field=field if isinstance(field, str) else None,
                refused_at=at,
                scanned_by=by,
            )
        )
        return self.refused[-1]

    def apply(self, event: DomainEvent) -> None:
        match event:
            case MaterialConsumed():
                self.consumed.append(event)
            case MaterialScanRefused():
                self.refused.append(event)
            case _:
                raise TypeError(f"a batch's materials do not apply {type(event).__name__}")
