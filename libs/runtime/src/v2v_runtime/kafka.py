"""Kafka producer settings shared by the relay and the dead-letter publisher."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer


class Publisher(Protocol):
    """Publishes one record and returns once the broker acknowledged it (acks=all)."""

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None: ...

    async def send_many(
        self, records: Sequence[tuple[str, bytes, bytes, Sequence[tuple[str, bytes]]]]
    ) -> None: ...


class KafkaPublisher:
    """acks=all with the idempotent producer: no duplicates from producer retries and
    per-partition order kept, so one patient's messages arrive in the order written."""

    def __init__(self, bootstrap_servers: str, client_id: str, **options: Any) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            **options,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            request_timeout_ms=30000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        await self._producer.send_and_wait(topic, value=value, key=key, headers=list(headers))

    async def send_many(
        self, records: Sequence[tuple[str, bytes, bytes, Sequence[tuple[str, bytes]]]]
    ) -> None:
        # Enqueue in order, then wait for every acknowledgement: ordered and batched.
        futures = [
            await self._producer.send(topic, value=value, key=key, headers=list(headers))
            for topic, key, value, headers in records
        ]
        for fut in futures:
            await fut
