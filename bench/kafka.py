"""Kafka for the measures: fresh topics, prompt consumers, and the raw baselines (the round
trip, produce + consume) that ours is compared with."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient

from v2v_events.catalog import EVENTS_PARTITIONS
from v2v_events.envelope import KafkaRecord

# With aiokafka against the stack's broker, a parked fetch is answered when its max wait
# expires, not when a record arrives (observed: a record sent 0.1 s after the last one arrives
# ~505 ms later with the client's default of 500 ms). Our consumers (instruments, baselines)
# ask for 10 ms; docs/performance.md.
PROMPT_FETCH_MS = 10
DEFAULT_FETCH_MS = 500  # aiokafka's default, which the platform's consumers use
WAIT_S = 60.0  # a round trip not back by then is an error


async def create_topics(
    bootstrap: str, *names: str, partitions: int = EVENTS_PARTITIONS, wait_s: float = 30
) -> None:
    """Fresh topics laid out like the catalog's events topics; returns once every partition
    has a leader (a first send to a brand-new topic would otherwise retry, and be timed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    try:
        for name in names:
            client.add_topic(name)
        deadline = time.monotonic() + wait_s
        while True:
            await client.force_metadata_update()
            if all(
                len(client.cluster.available_partitions_for_topic(n) or ()) == partitions
                for n in names
            ):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {names} have no leaders after {wait_s:.0f} s")
            await asyncio.sleep(0.1)
    finally:
        await client.close()


async def positioned_consumer(
    bootstrap: str, topic: str, fetch_max_wait_ms: int = PROMPT_FETCH_MS
) -> AIOKafkaConsumer:
    """A group-less consumer on every partition of ``topic``, at its end. By default it asks
    the broker to answer a fetch within 10 ms: an instrument must not add latency."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=fetch_max_wait_ms,
    )
    await consumer.start()
    parts = None
    for _ in range(100):
        parts = consumer.partitions_for_topic(topic)
        if parts:
            break
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    if not parts:
        await consumer.stop()
        raise RuntimeError(f"topic {topic} has no partitions")
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:  # resolve the positions now, not at the first timed fetch
        await consumer.position(tp)
    return consumer


class RoundTrips:
    """The raw Kafka round trip: one record produced (acks=all, idempotent, linger 0) and
    received by a consumer positioned at the end beforehand, one at a time."""

    def __init__(self, bootstrap: str, fetch_max_wait_ms: int = PROMPT_FETCH_MS) -> None:
        self.bootstrap = bootstrap
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.topic = f"v2v.bench-rtt-{uuid.uuid4().hex[:8]}.events"
        self.times: list[float] = []
        self._sent = 0
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=0
        )
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        await create_topics(self.bootstrap, self.topic)
        await self._producer.start()
        self._consumer = await positioned_consumer(
            self.bootstrap, self.topic, self.fetch_max_wait_ms
        )
        await self.sample(3, keep=False)  # warm-up

    async def sample(self, count: int, keep: bool = True) -> None:
        assert self._consumer is not None, "start() first"
        for _ in range(count):
            self._sent += 1
            value = f'{{"n": {self._sent}}}'.encode()
            started = time.perf_counter()
            await self._producer.send_and_wait(self.topic, value=value, key=b"CHA1B2C26000001")
            record = await asyncio.wait_for(self._consumer.getone(), WAIT_S)
            elapsed = time.perf_counter() - started
            if record.value != value:
                raise RuntimeError("raw round trip: a record other than the one sent")
            if keep:
                self.times.append(elapsed)

    async def stop(self) -> None:
        await self._producer.stop()
        if self._consumer is not None:
            await self._consumer.stop()


async def raw_produce_consume(
    bootstrap: str, records: Sequence[KafkaRecord], limit_s: float
) -> float:
    """Seconds to produce ``records[1:]`` (acks=all, idempotent) and consume them all; the
    first one is a warm-up, through before the clock starts."""
    n = len(records) - 1
    topic = f"v2v.bench-raw-{uuid.uuid4().hex[:8]}.events"
    await create_topics(bootstrap, topic)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=PROMPT_FETCH_MS,  # a fetch parked at the broker is not woken early
    )
    await producer.start()
    await consumer.start()
    try:
        seen = 0

        async def consume(upto: int) -> None:
            nonlocal seen
            deadline = time.monotonic() + limit_s
            while seen < upto:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"raw consumer saw {seen} of {upto}")
                batch = await consumer.getmany(timeout_ms=200)
                for recs in batch.values():
                    for r in recs:
                        json.loads(r.value)  # decode, as any consumer would
                        seen += 1
                if batch:
                    await consumer.commit()

        # Warm-up record: the group has joined and fetches before the clock starts.
        first = records[0]
        await producer.send_and_wait(topic, first.value, first.key, headers=list(first.headers))
        await consume(1)
        started = time.perf_counter()
        for rec in records[1:]:
            await producer.send(topic, value=rec.value, key=rec.key, headers=list(rec.headers))
        await producer.flush()
        await consume(n + 1)
        return time.perf_counter() - started
    finally:
        await producer.stop()
        await consumer.stop()
