"""Benchmark: our event pipeline against raw aiokafka, measured in the same run.

    uv run python bench/pipeline.py --messages 2000 [--db sqlite|postgresql]

Pipeline: N commands, each one transaction writing an outbox row → the relay publishes
(acks=all, idempotent) → Kafka → the inbox consumer (FastStream, manual commit) applies
a projection and records the message id in one transaction.
Baseline: the same N payloads produced with raw aiokafka (acks=all) and consumed by a raw
aiokafka consumer group. Both rates and their ratio are printed; a JSON copy goes to
bench/results/. Uses the stack that the tests use (native launcher unless V2V_TEST_* set).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from v2v_cli.testing import provision_stack
from v2v_events import REGISTRY, to_kafka
from v2v_events.catalog import dead_letter_topic
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract
from v2v_runtime.clock import SystemClock, UuidGenerator
from v2v_runtime.consumer import make_broker, subscribe
from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import upgrade
from v2v_runtime.inbox import InboxProcessor
from v2v_runtime.kafka import KafkaPublisher
from v2v_runtime.relay import OutboxRelay
from v2v_runtime.uow import UnitOfWork

RESULTS = Path(__file__).parent / "results"
meta = MetaData()
projection = Table(
    "bench_enrolled",
    meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("coi", String(32), nullable=False),
)


def message(i: int) -> PatientEnrolled:
    return PatientEnrolled(
        coi=f"CHA1B2C26{i % 1_000_000:06d}",
        therapy="CAR-T",
        product_code="S1234",
        autologous=True,
        treatment_center="tc-bench",
        manufacturing_site="site-bench",
        apheresis_center="ac-1",
        patient_weight_kg=70.0,
        earliest_collection=date(2026, 11, 30),
        enrolled_at=datetime(2026, 11, 24, tzinfo=UTC),
        actor=Actor(user_id="u-bench", role="coordinator"),
    )


async def topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, 6, 1) for n in names])
    finally:
        await admin.close()


async def run_pipeline(
    bootstrap: str, db_url: str, consumer_db_url: str, n: int
) -> tuple[float, float]:
    """Returns (seconds to commit the N commands, seconds until all N are projected)."""
    tag = uuid.uuid4().hex[:8]
    topic, group = f"v2v.bench-{tag}.events", f"v2v.qc.bench-{tag}"
    await topics(bootstrap, topic, dead_letter_topic(group))
    await upgrade(db_url)
    await upgrade(consumer_db_url)
    engine = create_engine(db_url)
    consumer_engine = create_engine(consumer_db_url)
    async with consumer_engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    sessions = session_factory(engine)
    consumer_sessions = session_factory(consumer_engine)
    clock, ids = SystemClock(), UuidGenerator()

    def uow() -> UnitOfWork:
        return UnitOfWork(sessions, clock, ids, "/vein2vein/bench")

    def consumer_uow() -> UnitOfWork:
        return UnitOfWork(consumer_sessions, clock, ids, "/vein2vein/bench-consumer")

    async def project(u: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, PatientEnrolled)
        await u.session.execute(insert(projection).values(coi=msg.coi))

    publisher = KafkaPublisher(bootstrap, "bench-relay")
    await publisher.start()
    processor = InboxProcessor(group, consumer_uow, {PatientEnrolled: project}, publisher)
    broker = make_broker(bootstrap, "bench-consumer")
    subscribe(broker, processor, topic)
    await broker.start()
    relay = OutboxRelay(sessions, publisher, clock)
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop))

    async def projected() -> int:
        async with consumer_sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(projection)) or 0)

    started = time.perf_counter()
    for i in range(n):
        async with uow() as u:
            env = REGISTRY.envelope(
                message(i),
                subject=message(i).coi,
                source=u.source,
                id=ids.new_id(),
                time=clock.now(),
            )
            await u.outbox.add(env, topic, env.time)
        if i and i % 500 == 0:
            print(f"  pipeline: {i}/{n} written", flush=True)
    written = time.perf_counter() - started
    while await projected() < n:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    await relay_task
    await broker.stop()
    await publisher.stop()
    await engine.dispose()
    await consumer_engine.dispose()
    return written, elapsed


async def run_raw(bootstrap: str, n: int) -> float:
    tag = uuid.uuid4().hex[:8]
    topic = f"v2v.bench-raw-{tag}.events"
    await topics(bootstrap, topic)
    records = []
    for i in range(n):
        msg = message(i)
        env = REGISTRY.envelope(
            msg, subject=msg.coi, source="/bench", id=str(i), time=datetime.now(UTC)
        )
        records.append(to_kafka(env))
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{tag}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await producer.start()
    await consumer.start()
    started = time.perf_counter()
    for rec in records:
        await producer.send(topic, value=rec.value, key=rec.key, headers=list(rec.headers))
    await producer.flush()
    seen = 0
    while seen < n:
        batch = await consumer.getmany(timeout_ms=500)
        for recs in batch.values():
            for r in recs:
                json.loads(r.value)  # decode, as any consumer would
                seen += 1
        if batch:
            await consumer.commit()
    elapsed = time.perf_counter() - started
    await producer.stop()
    await consumer.stop()
    return elapsed


async def main(args: argparse.Namespace) -> dict[str, Any]:
    stack = provision_stack(need_postgres=args.db == "postgresql")
    try:
        tag = uuid.uuid4().hex[:8]
        if args.db == "postgresql":
            db_url = await stack.create_database(f"bench_{tag}")
            consumer_db_url = await stack.create_database(f"bench_{tag}_consumer")
        else:
            db_url = f"sqlite+aiosqlite:///{stack.data_dir}/bench-{tag}.sqlite"
            consumer_db_url = f"sqlite+aiosqlite:///{stack.data_dir}/bench-{tag}-consumer.sqlite"
        print(f"raw aiokafka: {args.messages} messages…", flush=True)
        raw = await run_raw(stack.kafka_bootstrap, args.messages)
        print(f"pipeline ({args.db}): {args.messages} messages…", flush=True)
        written, ours = await run_pipeline(
            stack.kafka_bootstrap, db_url, consumer_db_url, args.messages
        )
    finally:
        stack.close()
    result = {
        "messages": args.messages,
        "database": args.db,
        "raw_aiokafka_msgs_per_s": round(args.messages / raw, 1),
        "pipeline_msgs_per_s": round(args.messages / ours, 1),
        "command_commits_per_s": round(args.messages / written, 1),
        "pipeline_to_raw_ratio": round(raw / ours, 4),
    }
    print(f"raw aiokafka produce+consume : {result['raw_aiokafka_msgs_per_s']:>10} msg/s")
    print(f"outbox→relay→Kafka→inbox    : {result['pipeline_msgs_per_s']:>10} msg/s")
    print(f"  of which command commits   : {result['command_commits_per_s']:>10} msg/s")
    print(f"ratio pipeline/raw           : {result['pipeline_to_raw_ratio']:>10}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"pipeline-{args.db}-{int(time.time())}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    asyncio.run(main(p.parse_args()))
