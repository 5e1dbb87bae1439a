"""Keeps qc_notifications and qc_notification_deliveries current from a notification's
domain events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.domain import DomainEvent

from ...domain.notification import DeliveryState, NotificationState, notification_stream
from ...domain.notification_events import (
    DeliveryAttempted,
    EscalationExhausted,
    NotificationAcknowledged,
    NotificationEscalated,
    NotificationRaised,
)
from ...domain.notification_routing import Recipient
from .notification_tables import notification_deliveries, notifications


async def project_notification(session: AsyncSession, event: DomainEvent) -> bool:
    """Project a notification's event (False: not one)."""
    match event:
        case NotificationRaised():
            await session.execute(
                insert(notifications).values(
                    notification_id=event.notification_id,
                    stream_id=notification_stream(event.notification_id),
                    trigger=event.trigger.value,
                    deviation_id=event.deviation_id,
                    coi=event.coi,
                    site=event.site,
                    subject=event.subject,
                    state=(
                        NotificationState.AWAITING
                        if event.chain
                        else NotificationState.INFORMATIONAL
                    ).value,
                    must_acknowledge=bool(event.chain),
                    chain=event.chain,
                    level=0,
                    role=event.chain[0] if event.chain else None,
                    acknowledge_by=event.acknowledge_by,
                    raised_at=event.raised_at,
                    raised_by=event.raised_by.model_dump(),
                )
            )
            await _deliveries(session, event.notification_id, 0, event.recipients, event.raised_at)
        case NotificationEscalated():
            await _update(
                session,
                event.notification_id,
                level=event.level,
                role=event.role,
                acknowledge_by=event.acknowledge_by,
            )
            await _deliveries(
                session, event.notification_id, event.level, event.recipients, event.escalated_at
            )
        case EscalationExhausted():
            await _update(
                session,
                event.notification_id,
                state=NotificationState.UNACKNOWLEDGED.value,
                acknowledge_by=None,
                exhausted_at=event.exhausted_at,
            )
        case NotificationAcknowledged():
            await _update(
                session,
                event.notification_id,
                state=NotificationState.ACKNOWLEDGED.value,
                acknowledge_by=None,
                acknowledged_at=event.acknowledged_at,
                acknowledged_by=event.acknowledged_by.model_dump(),
                acknowledgement_note=event.note,
            )
        case DeliveryAttempted():
            state = (
                DeliveryState.SENT
                if event.sent
                else DeliveryState.PENDING
                if event.next_attempt_at is not None
                else DeliveryState.FAILED
            )
            t = notification_deliveries.c
            await session.execute(
                update(notification_deliveries)
                .where(
                    t.notification_id == event.notification_id,
                    t.level == event.level,
                    t.idx == event.index,
                )
                .values(
                    state=state.value,
                    attempts=event.attempt,
                    next_attempt_at=event.next_attempt_at,
                    last_attempt_at=event.attempted_at,
                    detail=event.detail,
                )
            )
        case _:
            return False
    return True


async def _update(session: AsyncSession, notification_id: str, **values: object) -> None:
    await session.execute(
        update(notifications)
        .where(notifications.c.notification_id == notification_id)
        .values(**values)
    )


async def _deliveries(
    session: AsyncSession, notification_id: str, level: int, to: list[Recipient], at: datetime
) -> None:
    if not to:
        return
    await session.execute(
        insert(notification_deliveries),
        [
            {
                "notification_id": notification_id,
                "level": level,
                "idx": i,
                "channel": r.channel.value,
                "recipient": r.to,
                "reason": r.reason,
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": at,
            }
            for i, r in enumerate(to)
        ],
    )
