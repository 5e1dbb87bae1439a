"""Deviations: an unplanned departure (OOS result, excursion, ...) under investigation.

This version keeps two states, opened and closed (the investigation / CAPA steps in between
are recorded outside vein2vein for now). Whoever opens a deviation proposes its
classification; QA classifies it (signed, with a rationale; again if the investigation
changes it) before closing it. An open deviation classified — or, until QA did, proposed —
critical or major blocks the release of its lot. Neither classification nor closure is done
by the deviation's author.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict

from .common import QA_REVIEWER, Forbidden, Who, require_role
from .events import (
    Classification,
    DeviationBatch,
    DeviationClassified,
    DeviationClosed,
    DeviationLotAffected,
    DeviationOpened,
    DeviationState,
    Failure,
)

BLOCKING = frozenset({Classification.CRITICAL, Classification.MAJOR})
OOS_SOURCE = "OOS"
EQUIPMENT_SOURCE = "equipment"
BATCH_EXCEPTION_SOURCE = "batch-exception"
# raised over Kafka from custody, logistics, batch's materials and the journey
CUSTODY_MISMATCH_SOURCE = "custody-mismatch"
SHIPMENT_EXCURSION_SOURCE = "shipment-excursion"
MATERIAL_SOURCE = "material-out-of-status"
DEADLINE_SOURCE = "deadline-missed"


def oos_description(failures: Sequence[Failure]) -> str:
    listed = "; ".join(f"{f.code} {f.value} (limit {f.limit})" for f in failures)
    return f"Out of specification: {listed}"


class Deviation(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.opened: DeviationOpened | None = None
        self.classified: DeviationClassified | None = None
        self.closed: DeviationClosed | None = None
        self.affected_lots: dict[str, str] = {}  # lot id -> CoI, of the batches named

    @classmethod
    def open(
        cls,
        deviation_id: str,
        *,
        coi: str,
        lot_id: str,
        classification: Classification,
        source: str,
        description: str,
        by: Who,
        at: datetime,
        panel_id: str | None = None,
    ) -> Deviation:
        dev = cls(deviation_id)
        dev._record(
            DeviationOpened(
                deviation_id=deviation_id,
                coi=coi,
                lot_id=lot_id,
                panel_id=panel_id,
                classification=classification,
                source=source,
                description=description,
                opened_at=at,
                opened_by=by,
            )
        )
        return dev

    @classmethod
    def open_for_oos(
        cls,
        deviation_id: str,
        *,
        coi: str,
        lot_id: str,
        panel_id: str,
        failures: Sequence[Failure],
        by: Who,
        at: datetime,
        classification: Classification = Classification.MAJOR,
    ) -> Deviation:
        """An out-of-specification result opens a deviation, major unless triaged higher."""
        return cls.open(
            deviation_id,
            coi=coi,
            lot_id=lot_id,
            panel_id=panel_id,
            classification=classification,
            source=OOS_SOURCE,
            description=oos_description(failures),
            by=by,
            at=at,
        )

    def classify(
        self, classification: Classification, rationale: str, by: Who, at: datetime
    ) -> DeviationClassified:
        """QA classifies the deviation (confirming or changing the proposed class)."""
        require_role(by, QA_REVIEWER, "classifying a deviation")
        self._check_open()
        self._check_not_author(by, "classification-by-author", "classifies")
        if self.classified is not None and self.classification is classification:
            raise Conflict(
                "deviation-already-classified",
                f"deviation {self.id} is already classified {classification.value}",
            )
        event = DeviationClassified(
            deviation_id=self.id,
            classification=classification,
            previous=self.classification,
            reason=rationale,
            classified_at=at,
            classified_by=by,
        )
        self._record(event)
        return event

    @classmethod
    def open_on_batches(
        cls,
        deviation_id: str,
        *,
        source: str,
        classification: Classification,
        description: str,
        site: str,
        equipment_id: str | None,
        batches: Sequence[DeviationBatch],
        by: Who,
        at: datetime,
        material_lot_id: str | None = None,
    ) -> Deviation:
        """A deviation on batches, not one lot: the lots they made are linked as QC learns
        of them (``affect_lot``), and wait for it."""
        dev = cls(deviation_id)
        dev._record(
            DeviationOpened(
                deviation_id=deviation_id,
                coi=None,
                lot_id=None,
                classification=classification,
                source=source,
                description=description,
                opened_at=at,
                opened_by=by,
                site=site,
                equipment_id=equipment_id,
                batches=list(batches),
                material_lot_id=material_lot_id,
            )
        )
        return dev

    @classmethod
    def open_on_chain(
        cls,
        deviation_id: str,
        *,
        coi: str,
        source: str,
        classification: Classification,
        description: str,
        site: str | None,
        unit_ids: Sequence[str] = (),
        shipment_id: str | None = None,
        batches: Sequence[DeviationBatch] = (),
        by: Who,
        at: datetime,
    ) -> Deviation:
        """A deviation on a chain of identity with no lot of its own (an apheresis unit
        refused at receipt, a shipment's excursion, a missed deadline), seen at ``site``.
        ``batches``: those whose lots it concerns (the lot the units are bags of), linked
        like the lots of a deviation on batches (``affect_lot``)."""
        if any(b.coi != coi for b in batches):
            raise ValueError(f"deviation {deviation_id} names a batch of another chain")
        dev = cls(deviation_id)
        dev._record(
            DeviationOpened(
                deviation_id=deviation_id,
                coi=coi,
                lot_id=None,
                classification=classification,
                source=source,
                description=description,
                opened_at=at,
                opened_by=by,
                site=site,
                batches=list(batches),
                unit_ids=list(dict.fromkeys(unit_ids)),
                shipment_id=shipment_id,
            )
        )
        return dev

    def affect_lot(self, batch_id: str, lot_id: str, coi: str) -> bool:
        """Link the lot of a batch this deviation names (False: linked already, or a batch
        it does not name)."""
        named = {b.batch_id: b.coi for b in self.info.batches}
        if named.get(batch_id) != coi or lot_id in self.affected_lots:
            return False
        self._record(
            DeviationLotAffected(deviation_id=self.id, batch_id=batch_id, lot_id=lot_id, coi=coi)
        )
        return True

    @property
    def lots(self) -> list[str]:
        """Every lot the deviation holds: its own, or those of the batches it names."""
        own = [self.info.lot_id] if self.info.lot_id is not None else []
        return [*own, *self.affected_lots]

    def close(self, reason: str, by: Who, at: datetime) -> DeviationClosed:
        require_role(by, QA_REVIEWER, "closing a deviation")
        self._check_open()
        self._check_not_author(by, "closure-by-author", "closes")
        if self.classified is None:
            raise Conflict(
                "deviation-not-classified",
                f"deviation {self.id} is not classified yet: QA classifies it before closing it",
                proposed_classification=self.info.classification.value,
            )
        event = DeviationClosed(deviation_id=self.id, reason=reason, closed_at=at, closed_by=by)
        self._record(event)
        return event

    @property
    def info(self) -> DeviationOpened:
        if self.opened is None:
            raise RuntimeError("deviation not opened")
        return self.opened

    @property
    def classification(self) -> Classification:
        """QA's classification, else the proposed one."""
        if self.classified is not None:
            return self.classified.classification
        return self.info.classification

    @property
    def state(self) -> DeviationState:
        return DeviationState.OPENED if self.closed is None else DeviationState.CLOSED

    def apply(self, event: DomainEvent) -> None:
        match event:
            case DeviationOpened():
                self.opened = event
            case DeviationClassified():
                self.classified = event
            case DeviationClosed():
                self.closed = event
            case DeviationLotAffected():
                self.affected_lots[event.lot_id] = event.coi
            case _:
                raise TypeError(f"deviation cannot apply {type(event).__name__}")

    def _check_open(self) -> None:
        if self.closed is not None:
            raise Conflict("deviation-closed", f"deviation {self.id} is already closed")

    def _check_not_author(self, by: Who, code: str, does: str) -> None:
        if self.opened is not None and self.opened.opened_by.user_id == by.user_id:
            # Segregation of duties: the author of a record does not approve it.
            raise Forbidden(
                code,
                f"{by.user_id} opened deviation {self.id}: another QA reviewer {does} it",
            )
