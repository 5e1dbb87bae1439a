"""What QC's use cases ask of its adapters (bound to the unit of work's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ..domain.common import Who
from ..domain.deviation_events import AffectedItem
from ..domain.notification_routing import Routing
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


class ContainmentHolds(Protocol):
    """The seam where holds plug in (issue 15's hold contract: hold placed / released, each
    owning service enforcing it): a deviation's containment asks for the items it lists to
    be held, in the containment's own transaction. This version places none
    (adapters/holds.py, ``NoHoldContract``): the containment is recorded, the items listed."""

    async def place(
        self, deviation_id: str, items: Sequence[AffectedItem], by: Who, at: datetime
    ) -> None:
        """Hold ``items`` for the deviation (a hold already placed for it is kept)."""
        ...


class NotificationDirectory(Protocol):
    """Where notifications go: the site's routing (adapters/config.py), and the site of a
    lot (its manufacturing site, as QC learnt it)."""

    def routing(self) -> Routing: ...

    async def lot_site(self, lot_id: str) -> str | None: ...


class NotificationQueue(Protocol):
    """The notifications the delivery loop has work on: a delivery due, or an
    acknowledgement window passed."""

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Their stream ids, the longest waiting first."""
        ...
