"""A journey's registration: opened once by its enrolment, reopened only by an operator.

The bridge consults it before starting a workflow, so a replayed or duplicated
``patient.enrolled`` never starts a second run of ``journey-<CoI>`` — even after Temporal
has dropped a closed run past the namespace's retention. Stored as hash-chained events in
the journey's own event store (``v2v audit verify`` checks them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError


class JourneyOpened(DomainEvent):
    kind = "journey.opened"
    coi: str
    enrolment_event_id: str
    input: dict[str, Any]
    opened_at: datetime


class RunStarted(DomainEvent):
    kind = "journey.run-started"
    run_id: str
    started_at: datetime


class JourneyReopened(DomainEvent):
    kind = "journey.reopened"
    operator: str
    reason: str
    reopened_at: datetime


EVENTS: list[type[DomainEvent]] = [JourneyOpened, RunStarted, JourneyReopened]


def stream_id(coi: str) -> str:
    return f"journey-{coi}"


class JourneyRegistration(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.coi = ""
        self.enrolment_event_id = ""
        self.input: dict[str, Any] = {}
        self.runs: list[str] = []
        self.reopenings: list[JourneyReopened] = []
        self._awaiting_start = False
        self._reopened = False  # the pending start is an operator's, not the enrolment's

    @classmethod
    def open(
        cls, coi: str, enrolment_event_id: str, input: dict[str, Any], at: datetime
    ) -> JourneyRegistration:
        reg = cls(stream_id(coi))
        reg._record(
            JourneyOpened(coi=coi, enrolment_event_id=enrolment_event_id, input=input, opened_at=at)
        )
        return reg

    @property
    def awaiting_start(self) -> bool:
        """Opened (or reopened) but no run recorded yet: a crash came in between."""
        return self._awaiting_start

    def may_start_for(self, enrolment_event_id: str) -> bool:
        """Only the enrolment that opened it may start a run, and only while none is on
        record: a duplicate or replay after that never starts another one."""
        return (
            self._awaiting_start
            and not self._reopened
            and enrolment_event_id == self.enrolment_event_id
        )

    @property
    def reopen_pending(self) -> bool:
        return self._awaiting_start and self._reopened

    def started(self, run_id: str, at: datetime) -> None:
        if not self._awaiting_start:
            raise Conflict("journey-already-started", f"{self.coi}: no start is pending")
        self._record(RunStarted(run_id=run_id, started_at=at))

    def reopen(self, operator: str, reason: str, at: datetime) -> None:
        if not operator.strip() or not reason.strip():
            raise DomainError(
                "reopen-unattributed", "reopening a journey needs an operator and a reason"
            )
        if self._awaiting_start and not self._reopened:
            raise Conflict("journey-start-pending", f"{self.coi}: its first run has not started")
        self._record(
            JourneyReopened(operator=operator.strip(), reason=reason.strip(), reopened_at=at)
        )

    def apply(self, event: DomainEvent) -> None:
        match event:
            case JourneyOpened():
                self.coi = event.coi
                self.enrolment_event_id = event.enrolment_event_id
                self.input = dict(event.input)
                self._awaiting_start = True
            case RunStarted():
                self.runs.append(event.run_id)
                self._awaiting_start = self._reopened = False
            case JourneyReopened():
                self.reopenings.append(event)
                self._awaiting_start = self._reopened = True
