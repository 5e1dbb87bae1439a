"""Repositories of QC's aggregates (event store + projector), and the read-model rebuild."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete

from v2v_events.contracts.common import Actor
from v2v_runtime.aggregate import EventCodec, Repository, rebuild_projection
from v2v_runtime.uow import UnitOfWork

from ..adapters.db.projector import project
from ..adapters.db.tables import READ_TABLES
from ..domain.common import Who
from ..domain.deviation import DEVIATION_EVENTS, Deviation
from ..domain.lot import LOT_EVENTS, Lot
from ..domain.panel import PANEL_EVENTS, Panel

CODEC = EventCodec("qc", [*PANEL_EVENTS, *DEVIATION_EVENTS, *LOT_EVENTS])


def panels(uow: UnitOfWork) -> Repository[Panel]:
    return Repository(uow, Panel, CODEC, project)


def deviations(uow: UnitOfWork) -> Repository[Deviation]:
    return Repository(uow, Deviation, CODEC, project)


def lots(uow: UnitOfWork) -> Repository[Lot]:
    return Repository(uow, Lot, CODEC, project)


@dataclass(frozen=True)
class Lineage:
    """Message lineage of the request or message being handled."""

    correlation_id: str | None = None
    causation_id: str | None = None

    def save_kw(self) -> dict[str, Any]:
        return {"correlation_id": self.correlation_id, "causation_id": self.causation_id}

    def publish_kw(self) -> dict[str, Any]:
        return {"correlationid": self.correlation_id, "causationid": self.causation_id}


NO_LINEAGE = Lineage()


def who(actor: Actor) -> Who:
    return Who(user_id=actor.user_id, role=actor.role)


def actor(w: Who) -> Actor:
    return Actor(user_id=w.user_id, role=w.role)


async def rebuild_read_models(uow: UnitOfWork) -> int:
    """Empty QC's read tables and replay the event store into them; returns events applied."""
    for table in READ_TABLES:
        await uow.session.execute(delete(table))
    return await rebuild_projection(uow, CODEC, project)
