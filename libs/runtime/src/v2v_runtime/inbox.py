"""Idempotent consumer (inbox) with a dead-letter topic.

Delivery guarantee: every record either applies exactly once or lands on the group's
dead-letter topic with its reason; the caller commits the Kafka offset only after this
returns. Records are decoded here (from raw bytes: no library decodes before us). A fetched
batch of one partition is applied in ONE transaction: one duplicate check for all its
message ids, the handlers' effects in offset order, one bulk insert of the inbox rows, one
commit. If anything in it fails, the transaction is rolled back and the batch is applied
one record at a time (each in its own transaction, retried, dead-lettered after
``max_attempts``), so a poison record costs nothing but itself. A record that cannot be
decoded, fails validation, or has a type unknown on a commands topic is dead-lettered with
the reason and its original key, value and headers; the consumer moves on. On an events
topic an unknown type is counted and logged, not dead-lettered: a newer producer may add
types that this reader does not need.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from v2v_events.envelope import Envelope
from v2v_events.registry import REGISTRY, Contract, Registry

from . import telemetry
from .db.tables import inbox
from .deadletters import (
    H_DLQ_AT,
    H_DLQ_ATTEMPTS,
    H_DLQ_ERROR,
    H_DLQ_GROUP,
    H_DLQ_OFFSET,
    H_DLQ_PARTITION,
    H_DLQ_REASON,
    H_DLQ_TOPIC,
    H_DLQ_VALUE_OMITTED,
    DeadLetterReason,
    DeadLetters,
    IncomingRecord,
    note_unknown_event,
)
from .kafka import Publisher
from .lineage import Lineage
from .records import Decoded, RecordDecoder, Skipped
from .uow import UnitOfWork

__all__ = [
    "H_DLQ_AT",
    "H_DLQ_ATTEMPTS",
    "H_DLQ_ERROR",
    "H_DLQ_GROUP",
    "H_DLQ_OFFSET",
    "H_DLQ_PARTITION",
    "H_DLQ_REASON",
    "H_DLQ_TOPIC",
    "H_DLQ_VALUE_OMITTED",
    "DeadLetterReason",
    "DeadLetters",
    "Handler",
    "InboxProcessor",
    "IncomingRecord",
    "Outcome",
    "note_unknown_event",
]

log = logging.getLogger("v2v.inbox")

Handler = Callable[[UnitOfWork, Envelope, Contract], Awaitable[None]]


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"  # a type this consumer does not handle
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class _Ready:
    """A decoded record with a handler: what a transaction applies."""

    index: int
    record: IncomingRecord
    envelope: Envelope
    message: Contract
    handler: Handler


class InboxProcessor:
    def __init__(
        self,
        group: str,
        uow_factory: Callable[[], UnitOfWork],
        handlers: Mapping[type[Contract], Handler],
        dead_letters: Publisher,
        *,
        registry: Registry = REGISTRY,
        commands_topics: Collection[str] = (),
        max_attempts: int = 5,
        retry_backoff: float = 0.2,
    ) -> None:
        self.group = group
        self._uow_factory = uow_factory
        self._registry = registry
        self._handlers = {registry.for_model(m).name: h for m, h in handlers.items()}
        self.dead_letters = DeadLetters(group, dead_letters, retry_backoff)
        self._max_attempts = max_attempts
        self._backoff = retry_backoff
        self._decoder = _InboxDecoder(
            self, self._handlers, registry=registry, commands_topics=commands_topics
        )

    # --- one record ---------------------------------------------------------------------

    async def process(self, record: IncomingRecord) -> Outcome:
        """Apply one record in its own transaction (retried), or dead-letter it."""
        decoded = await self._decode(0, record)
        if isinstance(decoded, Outcome):
            return decoded
        return await self._one(decoded)

    # --- a batch of one partition, in offset order ----------------------------------------

    async def process_batch(self, records: Sequence[IncomingRecord]) -> list[Outcome]:
        """Apply the records of one partition together, in offset order; see the module."""
        outcomes: list[Outcome] = [Outcome.IGNORED] * len(records)
        ready: list[_Ready] = []
        for i, record in enumerate(records):
            decoded = await self._decode(i, record)
            if isinstance(decoded, Outcome):
                outcomes[i] = decoded
            else:
                ready.append(decoded)
        if len(ready) == 1:
            outcomes[ready[0].index] = await self._one(ready[0])
        elif ready:
            try:
                applied = await self._together(ready)
            except Exception as exc:
                log.info(
                    "batch not applied together; applying one by one",
                    extra={"group": self.group, "records": len(ready), "error": repr(exc)},
                )
                applied = [(r.index, await self._one(r)) for r in ready]
            for index, outcome in applied:
                outcomes[index] = outcome
        return outcomes

    async def _together(self, ready: Sequence[_Ready]) -> list[tuple[int, Outcome]]:
        done: list[tuple[int, Outcome]] = []
        async with self._uow_factory() as uow:
            ids = [r.envelope.id for r in ready]
            seen = set(
                (
                    await uow.session.execute(
                        select(inbox.c.message_id).where(
                            inbox.c.consumer_group == self.group, inbox.c.message_id.in_(ids)
                        )
                    )
                ).scalars()
            )
            rows: list[dict[str, Any]] = []
            for r in ready:
                if r.envelope.id in seen:
                    done.append((r.index, Outcome.DUPLICATE))
                    continue
                seen.add(r.envelope.id)  # the same message twice in one batch
                uow.lineage = Lineage.caused_by(r.envelope)
                with self._span(r):
                    await r.handler(uow, r.envelope, r.message)
                rows.append(self._row(r.record, r.envelope, "processed", None, uow.clock.now()))
                done.append((r.index, Outcome.PROCESSED))
            if rows:
                await uow.session.execute(insert(inbox), rows)
        for (_, outcome), r in zip(done, ready, strict=True):
            self._count(r.envelope, outcome)
        return done

    # --- decoding --------------------------------------------------------------------------

    async def _decode(self, index: int, record: IncomingRecord) -> Outcome | _Ready:
        decoded = await self._decoder.decode(record)
        if decoded is Skipped.DEAD_LETTERED:
            return Outcome.DEAD_LETTERED
        if decoded is Skipped.IGNORED:
            return Outcome.IGNORED
        assert isinstance(decoded, Decoded)
        handler = self._handlers[decoded.envelope.type]
        return _Ready(index, record, decoded.envelope, decoded.message, handler)

    # --- one record in its own transaction, retried -------------------------------------

    async def _one(self, r: _Ready) -> Outcome:
        with self._span(r):
            outcome = await self._handle(r.record, r.envelope, r.message, r.handler)
        self._count(r.envelope, outcome)
        return outcome

    async def _handle(
        self, record: IncomingRecord, envelope: Envelope, message: Contract, handler: Handler
    ) -> Outcome:
        last_error = ""
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with self._uow_factory() as uow:
                    if await self._seen(uow, envelope.id):
                        return Outcome.DUPLICATE
                    uow.lineage = Lineage.caused_by(envelope)
                    await handler(uow, envelope, message)
                    await self._remember(uow, record, envelope, "processed", None)
                return Outcome.PROCESSED
            except IntegrityError as exc:
                # Another consumer instance recorded the same id first: same as a duplicate.
                if await self._seen_now(envelope.id):
                    return Outcome.DUPLICATE
                last_error = _describe(exc)
            except Exception as exc:
                last_error = _describe(exc)
            telemetry.instruments().failed.add(1, {"group": self.group, "type": envelope.type})
            log.warning(
                "handler failed",
                extra={
                    "message_id": envelope.id,
                    "attempt": attempt,
                    "group": self.group,
                    "error": last_error.splitlines()[-1],
                },
            )
            if attempt < self._max_attempts:
                await asyncio.sleep(self._backoff * attempt)
        await self._dead_letter(
            record, DeadLetterReason.HANDLER_FAILED, last_error, self._max_attempts, envelope
        )
        return Outcome.DEAD_LETTERED

    # --- the inbox table -----------------------------------------------------------------

    async def _seen(self, uow: UnitOfWork, message_id: str) -> bool:
        row = await uow.session.execute(
            select(inbox.c.message_id).where(
                inbox.c.consumer_group == self.group, inbox.c.message_id == message_id
            )
        )
        return row.first() is not None

    async def _seen_now(self, message_id: str) -> bool:
        async with self._uow_factory() as uow:
            return await self._seen(uow, message_id)

    def _row(
        self,
        record: IncomingRecord,
        envelope: Envelope,
        outcome: str,
        error: str | None,
        at: datetime,
    ) -> dict[str, Any]:
        return {
            "consumer_group": self.group,
            "message_id": envelope.id,
            "message_type": envelope.type,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "outcome": outcome,
            "error": error,
            "handled_at": at,
        }

    async def _remember(
        self,
        uow: UnitOfWork,
        record: IncomingRecord,
        envelope: Envelope,
        outcome: str,
        error: str | None,
    ) -> None:
        row = self._row(record, envelope, outcome, error, uow.clock.now())
        await uow.session.execute(insert(inbox).values(**row))

    async def _dead_letter(
        self,
        record: IncomingRecord,
        reason: DeadLetterReason,
        error: str,
        attempts: int,
        envelope: Envelope | None = None,
    ) -> None:
        uow = self._uow_factory()
        await self.dead_letters.send(record, reason, error, attempts, uow.clock.now())
        if envelope is not None:
            # Remember it, so a redelivery is skipped instead of dead-lettered again.
            try:
                async with uow:
                    if not await self._seen(uow, envelope.id):
                        await self._remember(uow, record, envelope, "dead_lettered", error[-4000:])
            except Exception:
                log.exception("could not record dead-lettered message in the inbox")

    # --- telemetry ---------------------------------------------------------------------------

    def _span(self, r: _Ready) -> AbstractContextManager[None]:
        return self._decoder.span(r.record, r.envelope)

    def _count(self, envelope: Envelope, outcome: Outcome) -> None:
        telemetry.instruments().handled.add(
            1, {"group": self.group, "type": envelope.type, "outcome": outcome.value}
        )


def _describe(exc: BaseException) -> str:
    # The last frames, then the exception itself on the last line (what logs show).
    frames = "".join(traceback.format_tb(exc.__traceback__)[-3:])
    return frames + "".join(traceback.format_exception_only(type(exc), exc)).strip()


class _InboxDecoder(RecordDecoder):
    """The shared decoding, whose dead letters the inbox also remembers by message id (so a
    redelivery is skipped instead of dead-lettered again)."""

    def __init__(
        self,
        inbox: InboxProcessor,
        handlers: Collection[str],
        *,
        registry: Registry,
        commands_topics: Collection[str],
    ) -> None:
        super().__init__(
            inbox.dead_letters, handlers, registry=registry, commands_topics=commands_topics
        )
        self._inbox = inbox

    async def dead_letter(
        self,
        record: IncomingRecord,
        reason: DeadLetterReason,
        error: str,
        attempts: int = 0,
        *,
        envelope: Envelope | None = None,
        at: datetime | None = None,
    ) -> None:
        await self._inbox._dead_letter(record, reason, error, attempts, envelope)
