"""Idempotent consumer (inbox) with a dead-letter topic.

Delivery guarantee: every record either applies exactly once or lands on the group's
dead-letter topic with its reason; the caller commits the Kafka offset only after this
returns. For each record: decode the CloudEvent and its contract here (from raw bytes: no
library decodes before us); run the handler and record the message id in ONE transaction (a
duplicate finds the id and is skipped). A record that cannot be decoded, fails validation,
has a type unknown on a commands topic, or whose handler fails ``max_attempts`` times is
dead-lettered with the reason and its original key, value and headers; the consumer moves on.
On an events topic an unknown type is counted and logged, not dead-lettered: a newer
producer may add types that this reader does not need.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aiokafka.errors import MessageSizeTooLargeError
from opentelemetry.trace import SpanKind
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from v2v_events.catalog import dead_letter_topic
from v2v_events.envelope import Envelope, EnvelopeError, from_kafka, headers_to_dict
from v2v_events.registry import REGISTRY, Contract, Registry, RegistryError

from . import telemetry
from .db.tables import inbox
from .kafka import Publisher
from .tracing import span_from
from .uow import UnitOfWork

log = logging.getLogger("v2v.inbox")

Handler = Callable[[UnitOfWork, Envelope, Contract], Awaitable[None]]

H_DLQ_REASON = "v2v_dlq_reason"
H_DLQ_ERROR = "v2v_dlq_error"
H_DLQ_GROUP = "v2v_dlq_group"
H_DLQ_TOPIC = "v2v_dlq_original_topic"
H_DLQ_PARTITION = "v2v_dlq_original_partition"
H_DLQ_OFFSET = "v2v_dlq_original_offset"
H_DLQ_ATTEMPTS = "v2v_dlq_attempts"
H_DLQ_AT = "v2v_dlq_at"
H_DLQ_VALUE_OMITTED = "v2v_dlq_value_omitted"  # bytes of the original value not copied


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"  # a type this consumer does not handle
    DEAD_LETTERED = "dead_lettered"


class DeadLetterReason(StrEnum):
    UNDECODABLE = "undecodable"
    INVALID = "invalid"
    HANDLER_FAILED = "handler_failed"
    NO_TARGET = "no_target"  # e.g. an event for a journey that does not exist
    UNKNOWN_TYPE = "unknown-type"  # a command this service does not know


@dataclass(frozen=True)
class IncomingRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]


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
        self._commands_topics = frozenset(commands_topics)

    async def process(self, record: IncomingRecord) -> Outcome:
        try:
            envelope = from_kafka(record.key, record.value, record.headers)
        except EnvelopeError as exc:
            await self._dead_letter(record, DeadLetterReason.UNDECODABLE, str(exc), 0)
            return Outcome.DEAD_LETTERED
        handler = self._handlers.get(envelope.type)
        if handler is None:
            return await self._unhandled(record, envelope)
        try:
            message = self._registry.decode_envelope(envelope)
        except RegistryError as exc:
            await self._dead_letter(record, DeadLetterReason.INVALID, str(exc), 0, envelope)
            return Outcome.DEAD_LETTERED
        carrier = headers_to_dict(record.headers)
        with span_from(
            carrier,
            f"process {record.topic}",
            SpanKind.CONSUMER,
            {
                "messaging.system": "kafka",
                "messaging.consumer.group.name": self.group,
                "messaging.message.id": envelope.id,
                "messaging.destination.name": record.topic,
                "v2v.message.type": envelope.type,
            },
        ):
            outcome = await self._handle(record, envelope, message, handler)
        telemetry.instruments().handled.add(
            1, {"group": self.group, "type": envelope.type, "outcome": outcome.value}
        )
        return outcome

    async def _unhandled(self, record: IncomingRecord, envelope: Envelope) -> Outcome:
        if record.topic in self._commands_topics:
            # A command addressed to us that we cannot act on: never silently dropped.
            known = self._registry.knows(envelope.type)
            why = "no handler here for" if known else "unknown message type"
            await self._dead_letter(
                record, DeadLetterReason.UNKNOWN_TYPE, f"{why} {envelope.type!r}", 0, envelope
            )
            return Outcome.DEAD_LETTERED
        if not self._registry.knows(envelope.type):
            note_unknown_event(self.group, envelope)
        return Outcome.IGNORED

    async def _handle(
        self, record: IncomingRecord, envelope: Envelope, message: Contract, handler: Handler
    ) -> Outcome:
        last_error = ""
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with self._uow_factory() as uow:
                    if await self._seen(uow, envelope.id):
                        return Outcome.DUPLICATE
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

    async def _remember(
        self,
        uow: UnitOfWork,
        record: IncomingRecord,
        envelope: Envelope,
        outcome: str,
        error: str | None,
    ) -> None:
        await uow.session.execute(
            insert(inbox).values(
                consumer_group=self.group,
                message_id=envelope.id,
                message_type=envelope.type,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                outcome=outcome,
                error=error,
                handled_at=uow.clock.now(),
            )
        )

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


def note_unknown_event(group: str, envelope: Envelope) -> None:
    """An event type this reader does not know (a newer producer may add types): counted and
    logged, never silently dropped and never a dead letter."""
    kind = envelope.type[:200]
    telemetry.instruments().unknown_type.add(1, {"group": group, "type": kind})
    log.warning(
        "event of an unknown type skipped",
        extra={"group": group, "type": kind, "message_id": envelope.id},
    )


class DeadLetters:
    """Publishes a failed record to its group's dead-letter topic, with the reason and the
    original key, value and headers; retries until the broker has it, because the caller
    must not commit the offset before."""

    def __init__(self, group: str, publisher: Publisher, backoff: float = 0.2) -> None:
        self.group = group
        self.topic = dead_letter_topic(group)
        self.publisher = publisher
        self._backoff = backoff

    async def send(
        self,
        record: IncomingRecord,
        reason: DeadLetterReason,
        error: str,
        attempts: int,
        at: datetime,
    ) -> None:
        headers = [(k, v) for k, v in record.headers if v is not None]
        headers += [
            (H_DLQ_REASON, reason.value.encode()),
            (H_DLQ_ERROR, error[-4000:].encode()),
            (H_DLQ_GROUP, self.group.encode()),
            (H_DLQ_TOPIC, record.topic.encode()),
            (H_DLQ_PARTITION, str(record.partition).encode()),
            (H_DLQ_OFFSET, str(record.offset).encode()),
            (H_DLQ_ATTEMPTS, str(attempts).encode()),
            (H_DLQ_AT, at.isoformat().encode()),
        ]
        telemetry.instruments().dead_lettered.add(1, {"group": self.group, "reason": reason.value})
        log.error(
            "message dead-lettered",
            extra={
                "group": self.group,
                "reason": reason.value,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "error": error.splitlines()[-1] if error else "",
            },
        )
        value = record.value or b""
        delay = self._backoff
        while True:
            try:
                await self.publisher.send(self.topic, record.key or b"", value, headers)
                return
            except MessageSizeTooLargeError:
                # The original plus our headers no longer fits: keep the evidence of where
                # it is (topic, partition, offset stay in the headers) without its value.
                log.error("dead letter too large with its value; sending it without")
                headers = [*headers, (H_DLQ_VALUE_OMITTED, str(len(value)).encode())]
                value = b""
            except Exception:
                log.exception("dead-letter publish failed; retrying")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)


def _describe(exc: BaseException) -> str:
    # The last frames, then the exception itself on the last line (what logs show).
    frames = "".join(traceback.format_tb(exc.__traceback__)[-3:])
    return frames + "".join(traceback.format_exception_only(type(exc), exc)).strip()
