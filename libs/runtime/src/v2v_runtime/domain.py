"""The domain part of the runtime: event-sourced aggregates and their domain events.

Pure: the standard library and pydantic only (architecture tests keep it so), so a service's
domain imports this and ``v2v_runtime.errors`` and nothing that does I/O.

An aggregate's command methods check rules and record domain events; ``apply`` folds an
event into state. Domain events are internal (the application maps them to public
contracts); they are stored as ``<service>.<kind>`` with their JSON payload and
``schema_version``. Changing an event's shape bumps ``schema_version`` and adds an upcaster
from the previous version, so rows written long ago still load (``upcasters``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Change(BaseModel):
    """One value entered earlier and changed by an event: the field, old and new value."""

    model_config = ConfigDict(frozen=True)
    field: str
    old: Any
    new: Any


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str]
    schema_version: ClassVar[int] = 1
    # from_version -> the step turning a payload of that version into the next version's.
    upcasters: ClassVar[dict[int, Upcaster]] = {}
    # The fields holding times someone or something observed (a collection's end, a thaw, a
    # step's start and end), as against the record time the event store stamps. The audit
    # trail shows them; such an event also carries ``late`` (ReportedTimeWindow.is_late).
    observed_times: ClassVar[tuple[str, ...]] = ()
    # True for what the runtime stores in a record's stream about the record (a signature):
    # counted in the record's version, never applied to its state.
    annotates_record: ClassVar[bool] = False

    def changes(self) -> list[Change]:
        """Old -> new of the values entered earlier that this event changes (a correction);
        none for an event that only adds to the record."""
        return []

    def observed_at(self) -> datetime | None:
        """The latest observed time: what lateness is measured from."""
        times = [getattr(self, f) for f in self.observed_times]
        return max((t for t in times if isinstance(t, datetime)), default=None)

    @classmethod
    def upcast(cls, payload: dict[str, Any], from_version: int) -> dict[str, Any]:
        """``payload`` as stored at ``from_version``, brought to ``schema_version``."""
        if from_version > cls.schema_version:
            raise LookupError(
                f"{cls.kind} v{from_version} was written by a newer version than this code "
                f"(v{cls.schema_version})"
            )
        current = dict(payload)
        for version in range(from_version, cls.schema_version):
            step = cls.upcasters.get(version)
            if step is None:
                raise LookupError(f"{cls.kind}: no upcaster from v{version} to v{version + 1}")
            current = step(current)
        return current


class Aggregate:
    """Base: ``id``, ``version`` (events applied), and events recorded but not yet saved."""

    def __init__(self, id: str) -> None:
        self.id = id
        self.version = 0
        self._pending: list[DomainEvent] = []

    def apply(self, event: DomainEvent) -> None:
        raise NotImplementedError

    def _record(self, event: DomainEvent) -> None:
        self.apply(event)
        self._pending.append(event)

    @property
    def pending(self) -> list[DomainEvent]:
        return list(self._pending)

    def _mark_saved(self) -> None:
        self.version += len(self._pending)
        self._pending.clear()

    @classmethod
    def replay(cls, id: str, events: Sequence[DomainEvent]) -> Self:
        agg = cls(id)
        for ev in events:
            if not ev.annotates_record:  # a signature: part of the record, not of its state
                agg.apply(ev)
        agg.version = len(events)
        return agg
