"""FastStream wiring of the inbox: manual acknowledgement after the inbox transactions.

FastStream's default for Kafka commits the offset when a message arrives; here the offset
is committed only once every message of a fetched batch has been handled — its effects and
its id committed, or the message safely on the dead-letter topic. A fetched batch is split
by partition; the partitions are handled concurrently, each one's records in offset order
(so one patient's messages, which share a key and so a partition, stay in order). A crash
before the commit redelivers the batch, and the inbox skips what it already did. Records
reach the processor as raw bytes: our code decodes them (see ``_raw_parser``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.message import KafkaAckableMessage
from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)

from .inbox import IncomingRecord

log = logging.getLogger("v2v.consumer")


def security(options: dict[str, Any]) -> BaseSecurity | None:
    """FastStream's form of the aiokafka security options from the settings."""
    protocol = options.get("security_protocol", "PLAINTEXT")
    if protocol == "PLAINTEXT":
        return None
    tls = options.get("ssl_context")
    if protocol == "SSL":
        return BaseSecurity(ssl_context=tls)
    kinds = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    kind = kinds[options["sasl_mechanism"]]
    return kind(
        username=options["sasl_plain_username"],
        password=options["sasl_plain_password"],
        ssl_context=tls,
        use_ssl=protocol == "SASL_SSL",
    )


def make_broker(
    bootstrap_servers: str, client_id: str, options: dict[str, Any] | None = None
) -> KafkaBroker:
    # FastStream logs every message at the broker's log level; ours are the useful ones.
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        security=security(options or {}),
        logger=logging.getLogger("v2v.faststream"),
        log_level=logging.DEBUG,
    )


class RecordProcessor(Protocol):
    """Handles the records of one partition, in offset order, completely (applied or
    dead-lettered) before returning."""

    group: str

    async def process_batch(self, records: Sequence[IncomingRecord]) -> Sequence[Any]: ...


def kafka_ready(broker: KafkaBroker) -> Callable[[], Awaitable[None]]:
    """A /readyz check: the consumer's broker answers."""

    async def check() -> None:
        if not await broker.ping(timeout=3.0):
            raise ConnectionError("Kafka broker not reachable")

    return check


def record_of(raw: Any) -> IncomingRecord:
    """Copy a consumer record as bytes, decoding nothing: our code decides what is valid."""
    return IncomingRecord(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key,
        value=raw.value,
        headers=[(str(k), v) for k, v in (raw.headers or ())],
    )


def _raw_parser(subscriber: Any) -> Callable[[tuple[Any, ...]], Awaitable[KafkaAckableMessage]]:
    """FastStream's own parser decodes headers as UTF-8 and its decoder parses JSON before
    any handler runs; a record that fails there is only logged and a later commit skips it
    (with the valid records fetched beside it). Ours hands the records through untouched."""

    async def parse(records: tuple[Any, ...]) -> KafkaAckableMessage:
        batch = records if isinstance(records, tuple) else (records,)
        first = batch[0]
        return KafkaAckableMessage(
            raw_message=batch,
            body=b"",
            headers={},
            message_id=f"{first.topic}-{first.partition}-{first.offset}-{len(batch)}",
            consumer=subscriber.consumer,
        )

    return parse


async def _no_decode(message: Any) -> None:
    return None


def subscribe(
    broker: KafkaBroker,
    processor: RecordProcessor,
    *topics: str,
    max_batch: int = 500,
    retry_pause: float = 1.0,
    fetch_max_wait_ms: int = 50,
) -> None:
    """Register ``processor`` as the consumer group ``processor.group`` on ``topics``.

    Delivery guarantee: every record is handed to ``processor`` (which applies it once or
    dead-letters it) before the group's offset moves past it. If the processor raises (e.g.
    the database is away), the batch is rewound and fetched again after ``retry_pause``.
    """
    holder: dict[str, Any] = {}
    subscriber = broker.subscriber(
        *topics,
        group_id=processor.group,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        batch=True,
        max_records=max_batch,
        batch_timeout_ms=100,
        # How long the broker may hold a fetch that finds nothing: aiokafka's 500 ms default
        # put up to half a second on every quiet hop of a journey (docs/performance.md).
        fetch_max_wait_ms=fetch_max_wait_ms,
        title=processor.group,
        parser=_raw_parser(_Late(holder)),
        decoder=_no_decode,
    )
    holder["subscriber"] = subscriber

    async def consume(message: KafkaMessage) -> None:
        records = message.raw_message
        batch = records if isinstance(records, tuple) else (records,)
        partitions: dict[tuple[str, int], list[IncomingRecord]] = {}
        for raw in batch:
            partitions.setdefault((raw.topic, raw.partition), []).append(record_of(raw))
        try:
            # A failure cancels the other partitions' work (rolled back) and rewinds all.
            async with asyncio.TaskGroup() as tasks:
                for part in partitions.values():
                    tasks.create_task(processor.process_batch(part))
        except BaseException:
            # Never let a later commit skip this batch: rewind to its first message.
            log.exception("inbox batch interrupted; rewinding", extra={"group": processor.group})
            await message.nack()
            await asyncio.sleep(retry_pause)
            raise
        await message.ack()

    subscriber(consume)


class _Late:
    """The subscriber's consumer exists only once the broker started it."""

    def __init__(self, holder: dict[str, Any]) -> None:
        self._holder = holder

    @property
    def consumer(self) -> Any:
        return self._holder["subscriber"].consumer
