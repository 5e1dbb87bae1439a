"""What QC's use cases ask of its adapters (bound to the unit of work's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..domain.hold import HoldKind
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


@dataclass(frozen=True)
class KnownLot:
    """A lot QC registered: its batch, CoI and site, and those of its bags asked about."""

    lot_id: str
    batch_id: str
    coi: str
    manufacturing_site: str | None
    unit_ids: tuple[str, ...] = ()


class BatchLots(Protocol):
    """Which lots QC knows of which batches (or units), and which open deviations name a
    batch."""

    async def lots_of(self, batch_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Batch id -> (lot id, CoI) of the lots QC registered for ``batch_ids``."""
        ...

    async def open_deviations_naming(self, batch_id: str) -> list[str]:
        """The open deviations on batches that name ``batch_id``."""
        ...

    async def lots_concerned(
        self, coi: str, unit_ids: Sequence[str], lot_ids: Sequence[str]
    ) -> list[KnownLot]:
        """The lots of ``coi`` QC knows that are ``lot_ids`` or hold any of ``unit_ids`` as
        bags (``unit_ids`` of each: those it holds), by lot id."""
        ...


class ActiveHolds(Protocol):
    """The holds placed and not released on an item (the holds read model)."""

    async def on(self, kind: HoldKind, item_id: str) -> list[tuple[str, str | None]]:
        """(hold id, deviation id) of each."""
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
