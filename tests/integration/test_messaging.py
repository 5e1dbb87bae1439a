"""Outbox → relay → real Kafka → inbox in another OS process, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import text

from v2v_events import REGISTRY, to_kafka
from v2v_events.catalog import dead_letter_topic
from v2v_runtime.clock import SystemClock, UuidGenerator
from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import upgrade
from v2v_runtime.kafka import KafkaPublisher
from v2v_runtime.relay import OutboxRelay
from v2v_runtime.uow import UnitOfWork

from .support import (
    caught_up,
    consumer_process,
    create_topics,
    enrolled,
    eventually,
    produce_raw,
    read_all,
    run_relay,
)

pytestmark = pytest.mark.integration


class Lane:
    """Fresh topics, consumer group and CoIs per test, so tests never see each other."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.topic = f"v2v.it-{tag}.events"
        self.group = f"v2v.qc.it-{tag}"
        self.dlq = dead_letter_topic(self.group)
        self._seq = int(tag[:5], 16) % 900000

    def coi(self, n: int) -> str:
        return f"CHA1B2C26{self._seq + n:06d}"


async def write_outbox(db_url: str, topic: str, cois: list[str]) -> list[str]:
    """State change + outgoing message in one transaction each, as a service would."""
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    ids: list[str] = []
    tracer = TracerProvider().get_tracer("it")
    try:
        for coi in cois:
            with tracer.start_as_current_span("POST /patients"):
                async with UnitOfWork(
                    sessions, SystemClock(), UuidGenerator(), "/vein2vein/custody"
                ) as uow:
                    env = REGISTRY.envelope(
                        enrolled(coi),
                        subject=coi,
                        source=uow.source,
                        id=uow.ids.new_id(),
                        time=uow.clock.now(),
                    )
                    await uow.outbox.add(env, topic, env.time)
                    ids.append(env.id)
    finally:
        await engine.dispose()
    return ids


async def relay_once(db_url: str, bootstrap: str) -> int:
    engine = create_engine(db_url)
    publisher = KafkaPublisher(bootstrap, "it-relay-inproc")
    await publisher.start()
    try:
        return await OutboxRelay(session_factory(engine), publisher, SystemClock()).run_once()
    finally:
        await publisher.stop()
        await engine.dispose()


async def effects(db_url: str) -> list[tuple[str, str, str | None]]:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            has = await conn.run_sync(lambda c: c.dialect.has_table(c, "it_effects"))
            if not has:
                return []
            rows = await conn.execute(text("SELECT message_id, coi, traceparent FROM it_effects"))
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        await engine.dispose()


async def inbox_rows(db_url: str) -> list[tuple[str, str]]:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT message_id, outcome FROM v2v_inbox"))
            return [(r[0], r[1]) for r in rows]
    finally:
        await engine.dispose()


async def unpublished(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        text("SELECT count(*) FROM v2v_outbox WHERE published_at IS NULL")
                    )
                ).scalar_one()
            )
    finally:
        await engine.dispose()


async def test_outbox_message_reaches_a_consumer_in_another_process(
    kafka_bootstrap: str, producer_db: str, consumer_db: str, tmp_path: Path
) -> None:
    lane = Lane()
    await create_topics(kafka_bootstrap, lane.topic, lane.dlq)
    await upgrade(producer_db)
    cois = [lane.coi(1), lane.coi(2), lane.coi(1)]
    ids = await write_outbox(producer_db, lane.topic, cois)
    assert await relay_once(producer_db, kafka_bootstrap) == 3
    assert await unpublished(producer_db) == 0

    with consumer_process(
        kafka_bootstrap, consumer_db, lane.topic, lane.group, tmp_path / "consumer.log"
    ):
        got = await eventually(lambda: effects(consumer_db), lambda r: len(r) >= 3)
    assert sorted(m for m, _, _ in got) == sorted(ids), (tmp_path / "consumer.log").read_text()
    assert {m: c for m, c, _ in got} == dict(zip(ids, cois, strict=True))
    # the trace context of the writing request arrived with the message
    assert all(tp and tp.startswith("00-") for _, _, tp in got)

    records = await read_all(kafka_bootstrap, lane.topic, 3)
    assert len(records) == 3
    for rec in records:
        headers = {k: v.decode() for k, v in rec.headers}
        for name in (
            "ce_id",
            "ce_type",
            "ce_source",
            "ce_specversion",
            "ce_time",
            "ce_subject",
            "content-type",
            "traceparent",
        ):
            assert name in headers, name
        assert headers["ce_specversion"] == "1.0"
        assert rec.key.decode() == headers["ce_subject"]
    # one patient's messages in one partition, in the order written
    first = [r for r in records if r.key.decode() == lane.coi(1)]
    assert len({r.partition for r in first}) == 1
    assert [dict(r.headers)["ce_id"].decode() for r in first] == [ids[0], ids[2]]


@pytest.mark.requirement("EU-Annex11.5")
async def test_same_message_delivered_twice_has_one_effect(
    kafka_bootstrap: str, consumer_db: str, tmp_path: Path
) -> None:
    lane = Lane()
    await create_topics(kafka_bootstrap, lane.topic, lane.dlq)
    env = REGISTRY.envelope(
        enrolled(lane.coi(1)),
        subject=lane.coi(1),
        source="/it",
        id=str(uuid.uuid4()),
        time=SystemClock().now(),
    )
    rec = to_kafka(env)
    for _ in range(2):
        await produce_raw(kafka_bootstrap, lane.topic, rec.key, rec.value, list(rec.headers))
    with consumer_process(
        kafka_bootstrap, consumer_db, lane.topic, lane.group, tmp_path / "consumer.log"
    ):
        # offsets are committed only after processing: caught up = both copies handled
        assert await eventually(lambda: caught_up(kafka_bootstrap, lane.group, lane.topic), bool)
        rows = await inbox_rows(consumer_db)
        got = await effects(consumer_db)
    assert rows == [(env.id, "processed")]
    assert [m for m, _, _ in got] == [env.id]


@pytest.mark.requirement("EU-Annex11.5")
async def test_poison_message_is_dead_lettered_and_the_next_is_processed(
    kafka_bootstrap: str, consumer_db: str, tmp_path: Path
) -> None:
    lane = Lane()
    await create_topics(kafka_bootstrap, lane.topic, lane.dlq)
    key = lane.coi(1).encode()
    await produce_raw(
        kafka_bootstrap,
        lane.topic,
        key,
        b"\x00not a cloud event",
        [("ce_type", b"org.vein2vein.custody.patient.enrolled")],
    )
    refused = "CHA1B2C26999999"  # the test consumer's handler always fails on this one
    failing = REGISTRY.envelope(
        enrolled(refused),
        subject=refused,
        source="/it",
        id=str(uuid.uuid4()),
        time=SystemClock().now(),
    )
    good = REGISTRY.envelope(
        enrolled(lane.coi(1)),
        subject=lane.coi(1),
        source="/it",
        id=str(uuid.uuid4()),
        time=SystemClock().now(),
    )
    for env in (failing, good):
        rec = to_kafka(env)
        await produce_raw(kafka_bootstrap, lane.topic, rec.key, rec.value, list(rec.headers))

    with consumer_process(
        kafka_bootstrap, consumer_db, lane.topic, lane.group, tmp_path / "consumer.log"
    ):
        assert await eventually(lambda: caught_up(kafka_bootstrap, lane.group, lane.topic), bool)
        got = await effects(consumer_db)
        dead = await read_all(kafka_bootstrap, lane.dlq, 2)
    assert [m for m, _, _ in got] == [good.id], (tmp_path / "consumer.log").read_text()
    assert len(dead) == 2
    by_reason = {dict(r.headers)["v2v_dlq_reason"].decode(): r for r in dead}
    assert set(by_reason) == {"undecodable", "handler_failed"}
    poison = by_reason["undecodable"]
    assert poison.value == b"\x00not a cloud event"
    assert dict(poison.headers)["v2v_dlq_group"].decode() == lane.group
    assert dict(poison.headers)["ce_type"] == b"org.vein2vein.custody.patient.enrolled"
    failed = by_reason["handler_failed"]
    assert b"projection refuses" in dict(failed.headers)["v2v_dlq_error"]
    assert dict(failed.headers)["ce_id"].decode() == failing.id
    assert (failing.id, "dead_lettered") in await inbox_rows(consumer_db)


@pytest.mark.requirement("EU-Annex11.16")
async def test_relay_killed_between_publish_and_mark_republishes_and_consumer_dedupes(
    kafka_bootstrap: str, producer_db: str, consumer_db: str, tmp_path: Path
) -> None:
    lane = Lane()
    await create_topics(kafka_bootstrap, lane.topic, lane.dlq)
    await upgrade(producer_db)
    ids = await write_outbox(producer_db, lane.topic, [lane.coi(n) for n in range(1, 5)])

    crashed = run_relay(kafka_bootstrap, producer_db, crash=True)
    assert crashed.returncode == 3, crashed.stdout + crashed.stderr
    assert await unpublished(producer_db) == 4  # published, but never marked
    assert len(await read_all(kafka_bootstrap, lane.topic, 4)) == 4

    restarted = run_relay(kafka_bootstrap, producer_db, crash=False)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "published and marked 4" in restarted.stdout
    assert await unpublished(producer_db) == 0
    on_topic = await read_all(kafka_bootstrap, lane.topic, 8)
    assert len(on_topic) == 8  # at-least-once: every message twice

    with consumer_process(
        kafka_bootstrap, consumer_db, lane.topic, lane.group, tmp_path / "consumer.log"
    ):
        assert await eventually(lambda: caught_up(kafka_bootstrap, lane.group, lane.topic), bool)
        got = await effects(consumer_db)
        inbox = await inbox_rows(consumer_db)
    assert sorted(m for m, _, _ in got) == sorted(ids)
    assert sorted(m for m, _ in inbox) == sorted(ids)
