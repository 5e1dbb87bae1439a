"""Deviations: an unplanned departure (OOS result, excursion, ...) under investigation.

This version keeps two states, opened and closed (the triage / investigation / CAPA steps
in between are recorded outside vein2vein for now). An open critical or major deviation
blocks the release of its lot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict

from .common import QA_REVIEWER, Forbidden, Who, require_role
from .events import (
    Classification,
    DeviationClosed,
    DeviationLotAssigned,
    DeviationOpened,
    DeviationState,
    Failure,
)

BLOCKING = frozenset({Classification.CRITICAL, Classification.MAJOR})
OOS_SOURCE = "OOS"
BATCH_EXCEPTION_SOURCE = "batch-exception"


def oos_description(failures: Sequence[Failure]) -> str:
    listed = "; ".join(f"{f.code} {f.value} (limit {f.limit})" for f in failures)
    return f"Out of specification: {listed}"


class Deviation(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.opened: DeviationOpened | None = None
        self.closed: DeviationClosed | None = None
        self.lot_id: str | None = None

    @classmethod
    def open(
        cls,
        deviation_id: str,
        *,
        coi: str,
        lot_id: str | None,
        classification: Classification,
        source: str,
        description: str,
        by: Who,
        at: datetime,
        panel_id: str | None = None,
        batch_id: str | None = None,
        exception_id: str | None = None,
        site: str | None = None,
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
                batch_id=batch_id,
                exception_id=exception_id,
                site=site,
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

    @classmethod
    def open_for_batch_exception(
        cls,
        deviation_id: str,
        *,
        coi: str,
        batch_id: str,
        exception_id: str,
        lot_id: str | None,
        site: str,
        description: str,
        by: Who,
        at: datetime,
    ) -> Deviation:
        """A batch exception (a critical parameter out of limits, a hold exceeded) opens a
        deviation, major unless triaged higher; its lot's release waits for its closure."""
        return cls.open(
            deviation_id,
            coi=coi,
            lot_id=lot_id,
            classification=Classification.MAJOR,
            source=BATCH_EXCEPTION_SOURCE,
            description=description,
            by=by,
            at=at,
            batch_id=batch_id,
            exception_id=exception_id,
            site=site,
        )

    def assign_lot(self, lot_id: str) -> None:
        if self.lot_id is None:
            self._record(DeviationLotAssigned(deviation_id=self.id, lot_id=lot_id))

    def close(self, reason: str, by: Who, at: datetime) -> DeviationClosed:
        require_role(by, QA_REVIEWER, "closing a deviation")
        if self.closed is not None:
            raise Conflict("deviation-closed", f"deviation {self.id} is already closed")
        if self.opened is not None and self.opened.opened_by.user_id == by.user_id:
            # Segregation of duties: the author of a record does not approve it.
            raise Forbidden(
                "closure-by-author",
                f"{by.user_id} opened deviation {self.id}: another QA reviewer closes it",
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
    def state(self) -> DeviationState:
        return DeviationState.OPENED if self.closed is None else DeviationState.CLOSED

    def apply(self, event: DomainEvent) -> None:
        match event:
            case DeviationOpened():
                self.opened = event
                self.lot_id = event.lot_id
            case DeviationLotAssigned():
                self.lot_id = event.lot_id
            case DeviationClosed():
                self.closed = event
            case _:
                raise TypeError(f"deviation cannot apply {type(event).__name__}")
