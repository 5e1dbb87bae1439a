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
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str]
    schema_version: ClassVar[int] = 1
    # from_version -> the step turning a payload of that version into the next version's.
    upcasters: ClassVar[dict[int, Upcaster]] = {}

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
            agg.apply(ev)
        agg.version = len(events)
        return agg
