"""Notification ports on the read models: the delivery loop's queue, the directory (routing
and a lot's site), and the rows GET /notifications lists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.notification import DeliveryState, NotificationState
from ...domain.notification_routing import Routing
from . import queries
from .notification_tables import notification_deliveries, notifications

N = notifications.c
D = notification_deliveries.c


class SqlNotificationQueue:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def due(self, now: datetime, limit: int) -> list[str]:
        windows = select(N.stream_id, N.acknowledge_by.label("at")).where(
            N.state == NotificationState.AWAITING.value, N.acknowledge_by <= now
        )
        deliveries = (
            select(N.stream_id, D.next_attempt_at.label("at"))
            .join(notifications, N.notification_id == D.notification_id)
            .where(D.state == DeliveryState.PENDING.value, D.next_attempt_at <= now)
        )
        work = union(windows, deliveries).subquery()
        since = func.min(work.c.at)
        rows = await self._session.execute(
            select(work.c.stream_id)
            .group_by(work.c.stream_id)
            .order_by(since, work.c.stream_id)
            .limit(limit)
        )
        return list(rows.scalars())


class SqlNotificationDirectory:
    def __init__(self, session: AsyncSession, routing: Routing) -> None:
        self._session = session
        self._routing = routing

    def routing(self) -> Routing:
        return self._routing

    async def lot_site(self, lot_id: str) -> str | None:
        return (await queries.lot_site(self._session, lot_id))[1]


def directory(routing: Routing) -> Callable[[AsyncSession], SqlNotificationDirectory]:
    return lambda session: SqlNotificationDirectory(session, routing)


async def listed(
    session: AsyncSession,
    *,
    deviation_id: str | None,
    state: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    query = select(notifications).order_by(N.raised_at.desc(), N.notification_id).limit(limit)
    if deviation_id is not None:
        query = query.where(N.deviation_id == deviation_id)
    if state is not None:
        query = query.where(N.state == state)
    return [dict(r._mapping) for r in await session.execute(query)]


async def site_of(session: AsyncSession, notification_id: str) -> tuple[bool, str | None]:
    row = (
        await session.execute(select(N.site).where(N.notification_id == notification_id))
    ).first()
    return (row is not None, None if row is None else row.site)
