"""Apheresis material: the unit custody collected (chain of identity, DIN), what it has
given to batches, and the aliquots retained from it for re-manufacture (stream
``material-<apheresis unit id>``).

It also makes opening a batch idempotent (one batch per unit and attempt, found here) and
safe: a batch opens only from a unit custody has collected, for that unit's CoI and DIN."""

from __future__ import annotations

from datetime import datetime

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError

from .checks import check_identifier
from .events import (
    AliquotsRetained,
    MaterialUsed,
    OpenDeferred,
    OpenRefused,
    Operator,
    Source,
    UnitCollected,
)

STREAM_PREFIX = "material-"
NO_RETAINED_MATERIAL = "no retained apheresis material remains"


class ApheresisMaterial(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.apheresis_unit_id: str | None = None
        self.coi: str | None = None  # of the batches made from it
        self.collected: UnitCollected | None = None
        self.deferred: dict[int, OpenDeferred] = {}  # attempt -> request awaiting collection
        self.batches: dict[int, str] = {}  # attempt -> batch id
        self.sources: dict[str, Source] = {}  # batch id -> source
        self.retained = 0
        self.consumed = 0

    @staticmethod
    def stream_for(apheresis_unit_id: str) -> str:
        check_identifier("apheresis_unit_id", apheresis_unit_id)
        return f"{STREAM_PREFIX}{apheresis_unit_id}"

    @classmethod
    def new(cls, apheresis_unit_id: str) -> ApheresisMaterial:
        material = cls(cls.stream_for(apheresis_unit_id))
        material.apheresis_unit_id = apheresis_unit_id
        return material

    @property
    def remaining(self) -> int:
        return self.retained - self.consumed

    def batch_for(self, attempt: int) -> str | None:
        return self.batches.get(attempt)

    # --- collection (from custody) ------------------------------------------------------

    def record_collection(
        self, *, coi: str, din: str, apheresis_center: str, collection_ended_at: datetime
    ) -> bool:
        """Learn custody's collection of the unit; False if already known (a redelivery)."""
        assert self.apheresis_unit_id is not None
        if self.collected is not None:
            if (self.collected.coi, self.collected.din) == (coi, din):
                return False
            raise Conflict(
                "unit-collected-differently",
                f"apheresis unit {self.apheresis_unit_id} was collected as DIN "
                f"{self.collected.din} of another record",
            )
        self._record(
            UnitCollected(
                apheresis_unit_id=self.apheresis_unit_id,
                coi=coi,
                din=din,
                apheresis_center=apheresis_center,
                collection_ended_at=collection_ended_at,
            )
        )
        return True

    def check_collected(self, coi: str, din: str) -> None:
        """Refuse (422) a batch from a unit custody never collected, or naming another
        chain of identity or DIN than the unit's."""
        unit = self.apheresis_unit_id
        if self.collected is None:
            raise DomainError(
                "apheresis-unit-unknown",
                f"apheresis unit {unit} has no collection recorded by custody (yet)",
                field="apheresis_unit_id",
                apheresis_unit_id=unit,
            )
        if coi != self.collected.coi:
            raise DomainError(
                "apheresis-unit-of-another-coi",
                f"apheresis unit {unit} was collected for another chain of identity",
                field="coi",
                apheresis_unit_id=unit,
            )
        if din != self.collected.din:
            raise DomainError(
                "din-mismatch",
                f"apheresis unit {unit} was collected as DIN {self.collected.din}, not {din}",
                field="din",
                apheresis_unit_id=unit,
            )

    def defer_open(
        self,
        *,
        coi: str,
        din: str,
        manufacturing_site: str,
        attempt: int,
        product_code: str | None,
        requested_by: Operator,
        message_id: str,
        correlation_id: str | None,
    ) -> bool:
        """Keep a request to open a batch until the unit's collection is known; False when
        this attempt already waits (a repeated command)."""
        assert self.apheresis_unit_id is not None
        if self.collected is not None:
            raise ValueError("the collection is known: decide the request now")
        if attempt in self.deferred:
            return False
        self._record(
            OpenDeferred(
                apheresis_unit_id=self.apheresis_unit_id,
                coi=coi,
                din=din,
                manufacturing_site=manufacturing_site,
                attempt=attempt,
                product_code=product_code,
                requested_by=requested_by,
                message_id=message_id,
                correlation_id=correlation_id,
            )
        )
        return True

    def refuse_deferred(self, attempt: int, refusal: DomainError) -> None:
        if attempt in self.deferred:
            self._record(OpenRefused(attempt=attempt, code=refusal.code, reason=refusal.detail))

    # --- batches --------------------------------------------------------------------------

    def check_coi(self, coi: str) -> None:
        if self.coi is not None and coi != self.coi:
            raise Conflict(
                "chain-of-identity-mismatch",
                f"apheresis unit {self.apheresis_unit_id} belongs to another chain of identity",
                apheresis_unit_id=self.apheresis_unit_id,
            )

    def use_fresh(self, *, coi: str, batch_id: str, attempt: int) -> None:
        self._use(coi, batch_id, attempt, Source.FRESH_APHERESIS, None)

    def use_retained_aliquot(
        self, *, coi: str, batch_id: str, attempt: int, previous_lot_id: str
    ) -> None:
        if self.remaining < 1:
            raise Conflict("no-retained-material", NO_RETAINED_MATERIAL)
        self._use(coi, batch_id, attempt, Source.RETAINED_APHERESIS, previous_lot_id)

    def retain(self, *, batch_id: str, count: int) -> None:
        """Selection in a batch made from this unit's fresh material kept ``count`` aliquots."""
        if count < 0:
            raise DomainError("retained-aliquots-invalid", "retained_aliquots must be >= 0")
        if self.sources.get(batch_id) is not Source.FRESH_APHERESIS:
            raise Conflict(
                "no-retention-from-this-batch",
                f"batch {batch_id} is not made from fresh material of this apheresis unit",
            )
        if count:
            self._record(AliquotsRetained(batch_id=batch_id, count=count))

    def _use(
        self,
        coi: str,
        batch_id: str,
        attempt: int,
        source: Source,
        previous_lot_id: str | None,
    ) -> None:
        assert self.apheresis_unit_id is not None
        self.check_coi(coi)
        if attempt in self.batches:
            raise Conflict(
                "attempt-already-open",
                f"attempt {attempt} already has batch {self.batches[attempt]}",
                batch_id=self.batches[attempt],
            )
        self._record(
            MaterialUsed(
                apheresis_unit_id=self.apheresis_unit_id,
                coi=coi,
                batch_id=batch_id,
                attempt=attempt,
                source=source,
                previous_lot_id=previous_lot_id,
            )
        )

    def apply(self, event: DomainEvent) -> None:
        match event:
            case MaterialUsed():
                self.apheresis_unit_id = event.apheresis_unit_id
                self.coi = event.coi
                self.batches[event.attempt] = event.batch_id
                self.sources[event.batch_id] = event.source
                self.deferred.pop(event.attempt, None)
                if event.source is Source.RETAINED_APHERESIS:
                    self.consumed += 1
            case AliquotsRetained():
                self.retained += event.count
            case UnitCollected():
                self.apheresis_unit_id = event.apheresis_unit_id
                self.collected = event
            case OpenDeferred():
                self.apheresis_unit_id = event.apheresis_unit_id
                self.deferred[event.attempt] = event
            case OpenRefused():
                self.deferred.pop(event.attempt, None)
            case _:
                raise TypeError(f"apheresis material does not apply {type(event).__name__}")
