"""FastStream wiring of the inbox: manual acknowledgement after the inbox transaction.

FastStream's default for Kafka commits the offset when a message arrives; here the offset
is committed only once the handler's effects and the message id are committed (or the
message is safely on the dead-letter topic).
"""

from __future__ import annotations

from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from .inbox import InboxProcessor, IncomingRecord


def record_of(raw: Any) -> IncomingRecord:
    return IncomingRecord(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key,
        value=raw.value,
        headers=list(raw.headers or ()),
    )


def subscribe(broker: KafkaBroker, processor: InboxProcessor, *topics: str) -> None:
    """Register ``processor`` as the consumer group ``processor.group`` on ``topics``."""

    @broker.subscriber(
        *topics,
        group_id=processor.group,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        title=f"{processor.group}:inbox",
    )
    async def consume(message: KafkaMessage) -> None:
        await processor.process(record_of(message.raw_message))
        await message.ack()
