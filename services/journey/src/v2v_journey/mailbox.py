"""The journey's mailbox: the service events signalled to it, each kept once, and taken by
what the journey expects. Pure (no Temporal): the workflow keeps one and waits on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from v2v_events import REGISTRY
from v2v_events.registry import Contract

C = TypeVar("C", bound=Contract)


class Received(Protocol):
    """One event as the bridge hands it over (``model.JourneySignal``)."""

    @property
    def event_id(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def data(self) -> Mapping[str, Any]: ...


def anything(_: object) -> bool:
    return True


@dataclass(frozen=True)
class Expect(Generic[C]):
    """An event of contract ``kind`` that satisfies ``match``: the only way the journey
    names an event it waits for or looks at (``test_listens`` reads these to prove the
    bridge forwards every one)."""

    kind: type[C]
    match: Callable[[C], bool] = anything

    @property
    def type_name(self) -> str:
        return REGISTRY.for_model(self.kind).name

    def read(self, received: Received) -> C | None:
        """The message if ``received`` is of this kind and matches, else None."""
        if received.type != self.type_name:
            return None
        message = self.kind.model_validate(received.data)
        return message if self.match(message) else None


class Mailbox:
    """Events in the order they arrived. Each is delivered at least once by the bridge but
    kept once (by event id); ``take`` uses one up, ``peek`` only looks."""

    def __init__(self) -> None:
        self._events: list[Received] = []
        self._seen: set[str] = set()
        self._used: set[str] = set()

    def receive(self, event: Received) -> bool:
        """Keep ``event``; False when it was received before (a redelivery)."""
        if event.event_id in self._seen:
            return False
        self._seen.add(event.event_id)
        self._events.append(event)
        return True

    def _unused(self) -> Iterator[Received]:
        return (e for e in self._events if e.event_id not in self._used)

    def peek(self, expected: Expect[C]) -> C | None:
        """The oldest unused event ``expected``, left in the mailbox."""
        for event in self._unused():
            message = expected.read(event)
            if message is not None:
                return message
        return None

    def latest(self, expected: Expect[C]) -> C | None:
        """The newest event ``expected``, used or not, left in the mailbox."""
        for event in reversed(self._events):
            message = expected.read(event)
            if message is not None:
                return message
        return None

    def take(self, *expected: Expect[Any]) -> Contract | None:
        """The oldest unused event that any of ``expected`` wants (for one event, the first
        of ``expected`` that wants it), used up."""
        for event in self._unused():
            for wanted in expected:
                message: Contract | None = wanted.read(event)
                if message is not None:
                    self._used.add(event.event_id)
                    return message
        return None
