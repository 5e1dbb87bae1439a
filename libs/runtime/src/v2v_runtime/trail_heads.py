"""Each service tells, over Kafka, how far its audit trail of a chain of identity has come
(``v2v_events.contracts.trail``): when a transaction appends to streams of a CoI, the
position and hash of the CoI's newest record in this store are published with it. QA's
audit-trail review before release records these heads; QC refuses a release whose reviewed
parts have moved since (docs/audit-trail.md)."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_events.contracts.trail import trail_contract

from .db.tables import events

if TYPE_CHECKING:  # the unit of work imports this; the audit trail's port imports FastAPI
    from .audit_trail_query import ScopeFactory
    from .uow import UnitOfWork

log = logging.getLogger("v2v.audit")


@dataclass(frozen=True)
class TrailHeads:
    """What a service's units of work need to publish its trail heads."""

    service: str
    scope: ScopeFactory


async def coi_head(session: AsyncSession, streams: Collection[str]) -> tuple[int, str] | None:
    """Position and hash of the newest event of ``streams`` (a CoI's part of this store)."""
    if not streams:
        return None
    row = (
        await session.execute(
            select(events.c.position, events.c.hash)
            .where(events.c.stream_id.in_(sorted(streams)))
            .order_by(events.c.position.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (int(row.position), str(row.hash))


async def publish_heads(uow: UnitOfWork, trail: TrailHeads, appended: Collection[str]) -> None:
    contract = trail_contract(trail.service)
    if contract is None or not appended:
        return
    scope = trail.scope(uow.session)
    scopes = await scope.scopes(sorted(appended))
    for coi in sorted({s.coi for s in scopes.values() if s.coi}):
        head = await coi_head(uow.session, await scope.streams_of(coi))
        if head is None:
            continue
        try:
            message = contract(
                service=trail.service,
                coi=coi,
                position=head[0],
                hash=head[1],
                recorded_at=uow.clock.now(),
            )
        except ValidationError:  # a record keyed by something that is not a CoI
            log.warning("no trail head published for %r: not a chain of identity", coi)
            continue
        await uow.publish(message, subject=coi)
