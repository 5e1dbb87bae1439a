"""Backlog catch-up: N outbox rows → relay → Kafka → inbox → projection.

    uv run --frozen python -m bench.catchup [--n 5000] [--db sqlite|postgresql]

The N rows are written first (as N commands would leave them in a service's outbox); then,
with the inbox consumer already subscribed and warm, the relay starts: timed from its start
until the consumer's projection holds all N (each applied with its message id in one
transaction, the offset committed after). The relay alone (rows → Kafka, acknowledged and
marked published, no consumer) is timed the same way on a second outbox, as a detail.
Baseline, same run, same records and topic layout: raw aiokafka, produced with acks=all and
the idempotent producer, consumed by a consumer group committing after each fetched batch;
run before, between and after ours, the median kept.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from v2v_events import REGISTRY, to_kafka
from v2v_events.catalog import EVENTS_PARTITIONS, dead_letter_topic
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
from v2v_runtime.settings import RuntimeSettings
from v2v_runtime.uow import UnitOfWork

from .harness import Goal, Result, finish, parser, progress
from .kafka import create_topics, raw_produce_consume
from .stack import Bench, bench_stack

WRITE_CHUNK = 500  # rows per transaction while filling the outbox (not timed)
POLL_S = 0.02
meta = MetaData()
projection = Table(
    "bench_enrolled",
    meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("coi", String(32), nullable=False),
)


def enrolment(i: int) -> PatientEnrolled:
    """A realistic record: the public enrolment event, a distinct CoI (key) per message."""
    today = datetime.now(UTC).date()
    return PatientEnrolled(
        coi=f"CHA1B2C26{i % 1_000_000:06d}",
        therapy="CAR-T",
        product_code="S1234",
        autologous=True,
        treatment_center="treatment-center-1",
        manufacturing_site="manufacturing-site-1",
        apheresis_center="apheresis-center-1",
        patient_weight_kg=70.0,
        earliest_collection=today + timedelta(days=7),
        enrolled_at=datetime.now(UTC),
        actor=Actor(user_id="u-bench", role="treatment-center-coordinator"),
    )


def envelope(i: int, source: str = "/vein2vein/bench") -> Envelope:
    msg = enrolment(i)
    return REGISTRY.envelope(
        msg, subject=msg.coi, source=source, id=str(uuid.uuid4()), time=datetime.now(UTC)
    )


async def until(probe: Callable[[], Awaitable[bool]], limit_s: float, what: str) -> None:
    deadline = time.monotonic() + limit_s
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"catch-up: {what} not done after {limit_s:.0f} s")
        await asyncio.sleep(POLL_S)


# --- ours: outbox → relay → Kafka → inbox → projection ------------------------------------------


async def fill_outbox(sessions: async_sessionmaker[AsyncSession], topic: str, n: int) -> float:
    """Write N outbox rows (not timed as catch-up; returned as a detail)."""
    clock, ids = SystemClock(), UuidGenerator()
    started = time.perf_counter()
    for first in range(0, n, WRITE_CHUNK):
        async with UnitOfWork(sessions, clock, ids, "/vein2vein/bench") as uow:
            for i in range(first, min(n, first + WRITE_CHUNK)):
                env = envelope(i, uow.source)
                await uow.outbox.add(env, topic, env.time)
    return time.perf_counter() - started


def new_relay(sessions: async_sessionmaker[AsyncSession], publisher: KafkaPublisher) -> OutboxRelay:
    s = RuntimeSettings()  # the services' defaults (batch size, poll interval)
    return OutboxRelay(
        sessions,
        publisher,
        SystemClock(),
        batch_size=s.relay_batch_size,
        poll_interval=s.relay_poll_interval_s,
        service="bench",
    )


async def relay_alone(bench: Bench, db: str, n: int, limit_s: float) -> tuple[float, float]:
    """(seconds to fill the outbox, seconds for the relay to publish and mark all N)."""
    bootstrap = bench.stack.kafka_bootstrap
    topic = f"v2v.bench-relay-{uuid.uuid4().hex[:8]}.events"
    await create_topics(bootstrap, topic)
    url = await bench.database(db, "catchup-relay")
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    publisher = KafkaPublisher(bootstrap, "bench-relay-alone")
    await publisher.start()
    stop = asyncio.Event()
    try:
        written = await fill_outbox(sessions, topic, n)
        relay = new_relay(sessions, publisher)
        started = time.perf_counter()
        task = asyncio.create_task(relay.run(stop))

        async def drained() -> bool:
            return await relay.backlog() == 0

        await until(drained, limit_s, "relay alone")
        elapsed = time.perf_counter() - started
        stop.set()
        await task
        return written, elapsed
    finally:
        stop.set()
        await publisher.stop()
        await engine.dispose()


async def pipeline(bench: Bench, db: str, n: int, limit_s: float) -> tuple[float, float]:
    """(seconds to fill the outbox, seconds from relay start until all N are projected)."""
    bootstrap = bench.stack.kafka_bootstrap
    tag = uuid.uuid4().hex[:8]
    topic, group = f"v2v.bench-{tag}.events", f"v2v.qc.bench-{tag}"
    await create_topics(bootstrap, topic, dead_letter_topic(group))
    producer_url = await bench.database(db, "catchup-producer")
    consumer_url = await bench.database(db, "catchup-consumer")
    await upgrade(producer_url)
    await upgrade(consumer_url)
    engine, consumer_engine = create_engine(producer_url), create_engine(consumer_url)
    async with consumer_engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    sessions, consumer_sessions = session_factory(engine), session_factory(consumer_engine)
    clock, ids = SystemClock(), UuidGenerator()

    def consumer_uow() -> UnitOfWork:
        return UnitOfWork(consumer_sessions, clock, ids, "/vein2vein/bench-consumer")

    async def project(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, PatientEnrolled)
        await uow.session.execute(insert(projection).values(coi=msg.coi))

    async def projected() -> int:
        async with consumer_sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(projection)) or 0)

    s = RuntimeSettings()
    publisher = KafkaPublisher(bootstrap, "bench-relay")
    await publisher.start()
    processor = InboxProcessor(
        group,
        consumer_uow,
        {PatientEnrolled: project},
        publisher,
        max_attempts=s.inbox_max_attempts,
        retry_backoff=s.inbox_retry_backoff_s,
    )
    broker = make_broker(bootstrap, "bench-consumer")
    subscribe(broker, processor, topic)
    stop = asyncio.Event()
    relay_task: asyncio.Task[None] | None = None
    try:
        written = await fill_outbox(sessions, topic, n)
        await broker.start()
        # Warm-up record straight to the topic: the inbox has joined its group and applied
        # one message before the clock starts (the raw consumer gets the same).
        warm = to_kafka(envelope(n + 1))
        await publisher.send(topic, warm.key, warm.value, warm.headers)

        async def warmed() -> bool:
            return await projected() >= 1

        await until(warmed, 60, "inbox warm-up")
        relay = new_relay(sessions, publisher)
        started = time.perf_counter()
        relay_task = asyncio.create_task(relay.run(stop))

        async def caught_up() -> bool:
            return await projected() >= n + 1

        await until(caught_up, limit_s, "catch-up")
        return written, time.perf_counter() - started
    finally:
        stop.set()
        if relay_task is not None:
            await relay_task
        await broker.stop()
        await publisher.stop()
        await engine.dispose()
        await consumer_engine.dispose()


async def measure(bench: Bench, db: str, n: int = 5000, limit_s: float = 900) -> list[Result]:
    bootstrap = bench.stack.kafka_bootstrap

    async def raw_run(when: str) -> float:
        progress(f"catch-up baseline ({when}): raw aiokafka produce+consume of {n} records…")
        records = [to_kafka(envelope(i)) for i in range(n + 1)]
        return await raw_produce_consume(bootstrap, records, limit_s)

    # The baseline runs before, between and after ours; its median is kept (a run of a few
    # hundred milliseconds swings with whatever else the box does).
    raws = [await raw_run("1/3")]
    progress(f"catch-up: relay alone, {n} outbox rows → Kafka ({db})…")
    _, relay_s = await relay_alone(bench, db, n, limit_s)
    raws.append(await raw_run("2/3"))
    progress(f"catch-up: {n} outbox rows → relay → Kafka → inbox → projection ({db})…")
    written, ours = await pipeline(bench, db, n, limit_s)
    raws.append(await raw_run("3/3"))
    raw = sorted(raws)[1]
    raw_rate, relay_rate = round(n / raw, 1), round(n / relay_s, 1)
    result = Result(
        "catchup",
        db,
        round(n / ours, 1),
        raw_rate,
        "msg/s",
        {
            "n": n,
            "seconds": round(ours, 3),
            "baseline_seconds": round(raw, 3),
            "baseline_runs_msgs_per_s": [round(n / r, 1) for r in raws],
            "relay_alone_msgs_per_s": relay_rate,
            "relay_alone_ratio": round(relay_rate / raw_rate, 4),
            "outbox_fill_rows_per_s": round(n / written, 1),
            "partitions": EVENTS_PARTITIONS,
            "what": "relay start → all N projected (rows written first, inbox warm)",
            "baseline_what": "raw aiokafka produce (acks=all, idempotent) + consume, "
            "median of 3 runs (before, between and after ours)",
        },
    )
    result.judge(Goal("ratio", ">=", 0.5))
    return [result]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--n", type=int, default=5000, help="outbox rows (default 5000)")
    p.add_argument("--timeout", type=float, default=900, help="seconds before giving up")
    args = p.parse_args()

    async def run() -> list[Result]:
        async with bench_stack(need_postgres=args.db == "postgresql") as bench:
            return await measure(bench, args.db, args.n, args.timeout)

    finish("catchup", asyncio.run(run()), args)


if __name__ == "__main__":
    main()
