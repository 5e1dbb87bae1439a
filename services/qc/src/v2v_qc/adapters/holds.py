"""The containment's holds before the hold contract exists: none placed.

Issue 15 builds holds as a public contract (hold placed / released naming the deviation,
enforced by custody, batch and logistics, lifted only by a QA signature in QC). Its adapter
of ``application.ports.ContainmentHolds`` replaces this one in bootstrap.PERSISTENCE."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.common import Who
from ..domain.deviation_events import AffectedItem


class NoHoldContract:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def place(
        self, deviation_id: str, items: Sequence[AffectedItem], by: Who, at: datetime
    ) -> None:
        return None  # no hold contract yet: the deviation's view lists the items
