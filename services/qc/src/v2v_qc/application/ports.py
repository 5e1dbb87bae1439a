"""What QC's use cases ask of its adapters (bound to the unit of work's transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..domain.trail_review import Head


class BatchDeviations(Protocol):
    """Deviations opened for a batch's exceptions, and the batch's lot (read models)."""

    async def lot_of(self, batch_id: str) -> str | None:
        """The lot QC has registered for the batch, if any."""
        ...

    async def open_without_lot(self, batch_id: str) -> list[str]:
        """The batch's open deviations not yet assigned to its lot."""
        ...


class TrailHeads(Protocol):
    async def current(self, coi: str) -> dict[str, Head]:
        """The newest record of ``coi`` in each service QC knows of: its own part (exact)
        and batch's and custody's (as far as their messages have arrived)."""
        ...

    async def advance(self, coi: str, service: str, head: Head, recorded_at: datetime) -> None:
        """Note another service's head (an older one than known is ignored)."""
        ...
