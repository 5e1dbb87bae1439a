"""Dead letters: a record that cannot be applied goes to its group's dead-letter topic with
the reason, its original key, value and headers, and where it came from; unknown event types
are counted and logged. Shared by every service inbox and the journey bridge."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aiokafka.errors import MessageSizeTooLargeError

from v2v_events.catalog import dead_letter_topic
from v2v_events.envelope import Envelope

from . import telemetry
from .kafka import Publisher

log = logging.getLogger("v2v.inbox")

H_DLQ_REASON = "v2v_dlq_reason"
H_DLQ_ERROR = "v2v_dlq_error"
H_DLQ_GROUP = "v2v_dlq_group"
H_DLQ_TOPIC = "v2v_dlq_original_topic"
H_DLQ_PARTITION = "v2v_dlq_original_partition"
H_DLQ_OFFSET = "v2v_dlq_original_offset"
H_DLQ_ATTEMPTS = "v2v_dlq_attempts"
H_DLQ_AT = "v2v_dlq_at"
H_DLQ_VALUE_OMITTED = "v2v_dlq_value_omitted"  # bytes of the original value not copied


class DeadLetterReason(StrEnum):
    UNDECODABLE = "undecodable"
    INVALID = "invalid"
    HANDLER_FAILED = "handler_failed"
    NO_TARGET = "no_target"  # e.g. an event for a journey that does not exist
    UNKNOWN_TYPE = "unknown-type"  # a command this service does not know
    # a command from a source not allowed to send it (v2v_events registry: senders)
    UNAUTHORIZED_SOURCE = "unauthorized-source"


@dataclass(frozen=True)
class IncomingRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]


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
