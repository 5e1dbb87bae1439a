"""A patient's collection waiting for a manufacturing slot (stream ``collection-wait-<coi>``).

Opened when logistics cannot schedule a collection attempt; the journey then asks again from
time to time. Closed when a later request books it. While it is open a coordinator may
decide: keep waiting, or end the journey. Bookings and decisions of one patient write this
one stream, so its optimistic concurrency lets only one of a racing booking and "end the
journey" through: after that decision the attempt is never booked, and once booked no
decision is taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from v2v_events.contracts.common import Actor
from v2v_events.contracts.logistics import SchedulingDecision
from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict

from .events import CollectionWaitClosed, CollectionWaitDecided, CollectionWaitOpened

PREFIX = "collection-wait-"


def wait_id(coi: str) -> str:
    return f"{PREFIX}{coi}"


def is_wait_id(stream_id: str) -> bool:
    return stream_id.startswith(PREFIX)


class CollectionWait(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.attempt = 0
        self.open = False
        self.reason = ""
        self.ended_by: CollectionWaitDecided | None = None
        self.decisions: list[CollectionWaitDecided] = []
        self.sites: tuple[str, ...] = ()

    @property
    def coi(self) -> str:
        return self.id.removeprefix(PREFIX)

    def refused(
        self, attempt: int, reason: str, config_version: str, sites: Sequence[str] = ()
    ) -> None:
        """The attempt could not be scheduled: open the wait (once per attempt)."""
        if attempt < self.attempt or (attempt == self.attempt and (self.open or self.ended_by)):
            return
        self._record(
            CollectionWaitOpened(
                attempt=attempt, reason=reason, config_version=config_version, sites=list(sites)
            )
        )

    def booked(self, attempt: int, booking_id: str) -> None:
        """A later request booked the attempt: the wait is over."""
        if self.open and self.attempt == attempt:
            self._record(CollectionWaitClosed(attempt=attempt, booking_id=booking_id))

    def ended(self, attempt: int) -> CollectionWaitDecided | None:
        """The decision that ended the journey while this attempt waited, if any."""
        return self.ended_by if self.attempt == attempt else None

    def decide(
        self, decision: SchedulingDecision, reason: str, by: Actor, at: datetime
    ) -> CollectionWaitDecided:
        """Conflict unless a collection waits (none did, it was booked meanwhile, or people
        already ended the journey)."""
        if self.ended_by is not None:
            raise Conflict(
                "journey-ended-by-decision",
                f"the journey of {self.coi} was already ended by decision of "
                f"{self.ended_by.decided_by.user_id}",
            )
        if not self.open:
            raise Conflict(
                "collection-not-waiting",
                f"collection attempt {self.attempt} of {self.coi} was booked meanwhile: "
                "nothing to decide",
            )
        event = CollectionWaitDecided(
            attempt=self.attempt, decision=decision, reason=reason, decided_at=at, decided_by=by
        )
        self._record(event)
        return event

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, CollectionWaitOpened):
            self.attempt, self.open, self.reason = event.attempt, True, event.reason
            self.sites = tuple(event.sites) or self.sites
            self.ended_by = None
        elif isinstance(event, CollectionWaitClosed):
            self.open = False
        elif isinstance(event, CollectionWaitDecided):
            self.decisions.append(event)
            if event.decision is SchedulingDecision.END_JOURNEY:
                self.open, self.ended_by = False, event
        else:
            raise TypeError(f"a collection wait does not apply {type(event).__name__}")
