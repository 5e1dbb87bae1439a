"""The newest seal outside the database: the last record keyed by the service on its
compacted seals topic, read from the beginning (used by the sealer's check and by
``v2v audit verify``)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from v2v_events import REGISTRY
from v2v_events.contracts.store import StoreSealed
from v2v_events.envelope import EnvelopeError, from_kafka
from v2v_events.registry import RegistryError

from .seal import ExternalSeal, Seal


class ExternalSealError(RuntimeError):
    """The seals topic could not be read, or its newest seal is not a valid seal."""


async def newest_external_seal(
    bootstrap: str,
    topic: str,
    service: str,
    *,
    options: dict[str, Any] | None = None,
    time_limit: float = 60.0,
) -> Seal | None:
    """The newest seal of ``service`` on ``topic``; None when there is none (or a tombstone)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=f"v2v-{service}-seals-reader",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **(options or {}),
    )
    key = service.encode()
    newest: Any = None
    try:
        async with asyncio.timeout(time_limit):
            await consumer.start()
            parts = await _partitions(consumer, topic, bootstrap)
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            ends = await consumer.end_offsets(parts)
            pending = {tp for tp, end in ends.items() if end > 0}
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=1000)
                for tp, records in batch.items():
                    for rec in records:
                        if rec.offset < ends[tp] and rec.key == key:
                            newest = rec  # one key, so one partition: offsets order it
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
    except TimeoutError:
        raise ExternalSealError(
            f"reading {topic} on {bootstrap} took over {time_limit:.0f} s"
        ) from None
    finally:
        await consumer.stop()
    if newest is None or newest.value is None:
        return None
    return _decode(newest, topic)


async def _partitions(
    consumer: AIOKafkaConsumer, topic: str, bootstrap: str
) -> list[TopicPartition]:
    # A client knows a topic's partitions once its metadata includes it; a topic just
    # created may take a moment to appear.
    for _ in range(20):
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.25)
    raise ExternalSealError(f"topic {topic} does not exist on {bootstrap}")


def _decode(record: Any, topic: str) -> Seal:
    where = f"{topic} offset {record.offset}"
    try:
        message = REGISTRY.decode_envelope(
            from_kafka(record.key, record.value, list(record.headers))
        )
    except (EnvelopeError, RegistryError) as exc:
        raise ExternalSealError(f"the newest seal on {where} is not a valid seal: {exc}") from exc
    if not isinstance(message, StoreSealed):
        raise ExternalSealError(f"the newest record on {where} is a {type(message).__name__}")
    return Seal.of_contract(message)


def external_seal_reader(
    bootstrap: str, topic: str, service: str, options: dict[str, Any] | None = None
) -> ExternalSeal:
    """The sealer's view of the outside: the newest seal on ``topic``."""

    async def read() -> Seal | None:
        return await newest_external_seal(bootstrap, topic, service, options=options)

    return read
