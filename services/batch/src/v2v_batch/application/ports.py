"""What the batch use cases need from storage beyond the event store (implemented in
adapters/db, registered in the service's Persistence, obtained with ``uow.port(...)``)."""

from __future__ import annotations

from typing import Protocol


class LotIndex(Protocol):
    """Which batch produced a lot: a lot id is generated inside its batch's stream, so
    commands naming only the lot find the batch here."""

    async def batch_of(self, lot_id: str) -> str | None: ...
