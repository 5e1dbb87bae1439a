"""Transactional outbox: outgoing messages are rows written in the same transaction as the
state change; the relay publishes them later, in order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_events.envelope import Envelope, to_kafka

from .db.tables import outbox
from .tracing import current_carrier


class Outbox:
    def __init__(self, session: AsyncSession, on_add: Callable[[], None] | None = None) -> None:
        self._session = session
        self._on_add = on_add

    async def add(self, envelope: Envelope, topic: str, created_at: datetime) -> None:
        if envelope.traceparent is None:
            # Save the caller's trace context so the hop through the table keeps the trace.
            carrier = current_carrier()
            if carrier:
                envelope = envelope.model_copy(
                    update={
                        "traceparent": carrier.get("traceparent"),
                        "tracestate": carrier.get("tracestate"),
                    }
                )
        record = to_kafka(envelope)
        await self._session.execute(
            insert(outbox).values(
                message_id=envelope.id,
                topic=topic,
                key=envelope.subject,
                headers=[[k, v.decode()] for k, v in record.headers],
                value=record.value.decode(),
                created_at=created_at,
            )
        )
        if self._on_add is not None:
            self._on_add()
