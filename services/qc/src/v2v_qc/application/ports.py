"""What QC's use cases ask of its adapters (bound to the unit of work's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ..domain.hold import HoldKind
from ..domain.trail_review import Head


class TrailHeads(Protocol):
    async def current(self, coi: str) -> dict[str, Head]:
        """The newest record of ``coi`` in each service QC knows of: its own part (exact)
        and batch's and custody's (as far as their messages have arrived)."""
        ...

    async def advance(self, coi: str, service: str, head: Head, recorded_at: datetime) -> None:
        """Note another service's head (an older one than known is ignored)."""
        ...


class BatchLots(Protocol):
    """Which lots QC knows of which batches, and which open deviations name a batch."""

    async def lots_of(self, batch_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Batch id -> (lot id, CoI) of the lots QC registered for ``batch_ids``."""
        ...

    async def open_deviations_naming(self, batch_id: str) -> list[str]:
        """The open deviations on batches that name ``batch_id``."""
        ...


class ActiveHolds(Protocol):
    """The holds placed and not released on an item (the holds read model)."""

    async def on(self, kind: HoldKind, item_id: str) -> list[tuple[str, str | None]]:
        """(hold id, deviation id) of each."""
        ...
