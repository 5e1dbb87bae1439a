"""QC's own view of a patient's retained apheresis material (stream ``qc-retained:<CoI>``),
projected from manufacturing's public events: which apheresis unit each batch was made
from (``batch.opened``: fresh, or from retained material), how many aliquots the selection
step of a batch kept back (``step.recorded``'s ``retained_aliquots``), and how many batch
counted as left when a lot was produced (``lot.produced``'s ``retained_aliquots_remaining``:
the MBR-driven steps publish no values). A recovery
decision to re-manufacture is checked against it: it must name material that exists and
has aliquots left.

Each fact is kept per batch, so a message delivered again changes nothing."""

from __future__ import annotations

from datetime import datetime

from v2v_events.contracts.batch import MaterialSource
from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict


def retained_stream(coi: str) -> str:
    return f"qc-retained:{coi}"


class BatchMaterialNoted(DomainEvent):
    kind = "retained.batch-noted"

    coi: str
    batch_id: str
    apheresis_unit_id: str
    source: MaterialSource
    opened_at: datetime


class AliquotsRetainedNoted(DomainEvent):
    kind = "retained.aliquots-noted"

    coi: str
    batch_id: str
    count: int


class RemainingAtLotNoted(DomainEvent):
    """Batch's own count of the unit's aliquots left when the batch's lot was produced."""

    kind = "retained.remaining-noted"

    coi: str
    batch_id: str
    lot_id: str
    remaining: int


RETAINED_EVENTS: tuple[type[DomainEvent], ...] = (
    BatchMaterialNoted,
    AliquotsRetainedNoted,
    RemainingAtLotNoted,
)


class RetainedMaterial(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.batches: dict[str, BatchMaterialNoted] = {}
        self.retained: dict[str, int] = {}  # batch id -> aliquots its selection kept
        self.at_lot: dict[str, int] = {}  # batch id -> aliquots left when its lot was made

    @classmethod
    def of(cls, coi: str) -> RetainedMaterial:
        return cls(retained_stream(coi))

    def note_batch(
        self,
        coi: str,
        batch_id: str,
        apheresis_unit_id: str,
        source: MaterialSource,
        opened_at: datetime,
    ) -> bool:
        if batch_id in self.batches:
            return False
        self._record(
            BatchMaterialNoted(
                coi=coi,
                batch_id=batch_id,
                apheresis_unit_id=apheresis_unit_id,
                source=source,
                opened_at=opened_at,
            )
        )
        return True

    def note_retained(self, coi: str, batch_id: str, count: int) -> bool:
        if self.retained.get(batch_id) == count:
            return False
        self._record(AliquotsRetainedNoted(coi=coi, batch_id=batch_id, count=count))
        return True

    def note_lot(self, coi: str, batch_id: str, lot_id: str, remaining: int) -> bool:
        if self.at_lot.get(batch_id) == remaining:
            return False
        self._record(
            RemainingAtLotNoted(coi=coi, batch_id=batch_id, lot_id=lot_id, remaining=remaining)
        )
        return True

    # -- state --

    def unit_of(self, batch_id: str) -> str | None:
        noted = self.batches.get(batch_id)
        return None if noted is None else noted.apheresis_unit_id

    def remaining(self, unit_id: str) -> int | None:
        """Aliquots of ``unit_id`` not yet used by a re-manufacture; None: unknown material."""
        made = [b for b in self.batches.values() if b.apheresis_unit_id == unit_id]
        if not made:
            return None
        reused = [b for b in made if b.source is MaterialSource.RETAINED_APHERESIS]
        kept = sum(self.retained.get(b.batch_id, 0) for b in made)
        # What batch counted at each lot, plus the re-manufactures opened up to that batch,
        # is what was kept (also when the steps' values were not published).
        for b in made:
            if b.batch_id in self.at_lot:
                before = sum(1 for r in reused if r.opened_at <= b.opened_at)
                kept = max(kept, self.at_lot[b.batch_id] + before)
        return max(kept - len(reused), 0)

    def require_remaining(self, unit_id: str | None, lot_id: str) -> str:
        """The apheresis unit to re-manufacture from, or 409 ``no-retained-material``."""
        left = None if unit_id is None else self.remaining(unit_id)
        if unit_id is None or left is None:
            raise Conflict(
                "no-retained-material",
                f"QC knows no retained apheresis material {unit_id or '(none)'} of lot "
                f"{lot_id}'s patient: re-manufacture is not possible",
                apheresis_unit_id=unit_id,
                known_material=sorted({b.apheresis_unit_id for b in self.batches.values()}),
            )
        if left <= 0:
            raise Conflict(
                "no-retained-material",
                f"no retained aliquot of apheresis unit {unit_id} is left: re-manufacture "
                "is not possible",
                apheresis_unit_id=unit_id,
                remaining=0,
            )
        return unit_id

    def apply(self, event: DomainEvent) -> None:
        match event:
            case BatchMaterialNoted():
                self.batches[event.batch_id] = event
            case AliquotsRetainedNoted():
                self.retained[event.batch_id] = event.count
            case RemainingAtLotNoted():
                self.at_lot[event.batch_id] = event.remaining
            case _:
                raise TypeError(f"retained material cannot apply {type(event).__name__}")
