"""Plain reads of the broker for the verdict: every record of some topics (with the
CloudEvents headers that identify it), partitions' end offsets and a group's committed
offsets. A fresh client per call: the broker may have just restarted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from v2v_events.catalog import TopicKind, all_topics

Offsets = dict[TopicPartition, int]


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    id: str  # ce_id: the message id every outbox and inbox row names
    type: str
    source: str
    subject: str
    time: str


def flow_topics() -> list[str]:
    """The events and commands topics: where the platform's messages flow."""
    kinds = (TopicKind.EVENTS, TopicKind.COMMANDS)
    return [t.name for t in all_topics() if t.kind in kinds]


def compacted_topics() -> list[str]:
    """The seals topics: compaction keeps the newest record per key (older ones may go)."""
    return [t.name for t in all_topics() if t.kind is TopicKind.SEALS]


def published_topics() -> list[str]:
    """Every topic an outbox publishes to: the flow and the seals."""
    return [*flow_topics(), *compacted_topics()]


def dead_letter_topics() -> list[str]:
    return [t.name for t in all_topics() if t.kind is TopicKind.DEAD_LETTER]


async def _partitions(consumer: AIOKafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    await consumer._client.force_metadata_update()
    found = []
    for topic in topics:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            raise LookupError(f"topic {topic} is not in the cluster metadata")
        found += [TopicPartition(topic, p) for p in sorted(parts)]
    return found


async def end_offsets(bootstrap: str, topics: Iterable[str], limit_s: float = 10.0) -> Offsets:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        async with asyncio.timeout(limit_s):
            await consumer.start()
            parts = await _partitions(consumer, topics)
            return dict(await consumer.end_offsets(parts))
    finally:
        await consumer.stop()


async def committed(bootstrap: str, group: str, limit_s: float = 10.0) -> Offsets:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        async with asyncio.timeout(limit_s):
            await admin.start()
            offsets = await admin.list_consumer_group_offsets(group)
            return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
    finally:
        await admin.close()


def behind(ends: Offsets, done: Offsets, topics: Iterable[str]) -> int:
    """How many records of ``topics`` the group has not committed yet."""
    wanted = set(topics)
    return sum(max(0, end - done.get(tp, 0)) for tp, end in ends.items() if tp.topic in wanted)


async def read_all(bootstrap: str, topics: Iterable[str], limit_s: float = 120.0) -> list[Record]:
    """Every record of ``topics`` from the beginning up to their current ends."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    records: list[Record] = []
    try:
        async with asyncio.timeout(limit_s):
            await consumer.start()
            parts = await _partitions(consumer, topics)
            ends = {tp: end for tp, end in (await consumer.end_offsets(parts)).items() if end}
            if not ends:
                return []
            consumer.assign(list(ends))
            await consumer.seek_to_beginning(*ends)
            left = dict(ends)
            while left:
                batch = await consumer.getmany(*left, timeout_ms=1000)
                for tp, recs in batch.items():
                    records += [_record(r) for r in recs if r.offset < ends[tp]]
                    if recs and recs[-1].offset + 1 >= ends[tp]:
                        left.pop(tp, None)
    finally:
        await consumer.stop()
    return records


def _record(raw: object) -> Record:
    headers = {k: v.decode(errors="replace") for k, v in (getattr(raw, "headers", None) or ())}
    return Record(
        topic=str(getattr(raw, "topic")),  # noqa: B009 (aiokafka's record is untyped)
        partition=int(getattr(raw, "partition")),  # noqa: B009
        offset=int(getattr(raw, "offset")),  # noqa: B009
        id=headers.get("ce_id", ""),
        type=headers.get("ce_type", ""),
        source=headers.get("ce_source", ""),
        subject=headers.get("ce_subject", ""),
        time=headers.get("ce_time", ""),
    )
