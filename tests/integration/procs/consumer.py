"""A service-like consumer process for the integration tests.

It runs the real inbox (FastStream, manual acks, dead-letter topic) on one topic and
projects PatientEnrolled events into a table ``it_effects`` of its own database. A CoI
ending in 999999 makes the handler fail every time (to exercise the dead-letter path).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract
from v2v_runtime.clock import SystemClock, UuidGenerator
from v2v_runtime.consumer import make_broker, subscribe
from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import upgrade
from v2v_runtime.inbox import InboxProcessor
from v2v_runtime.kafka import KafkaPublisher
from v2v_runtime.logging import configure_logging
from v2v_runtime.uow import UnitOfWork

meta = MetaData()
effects = Table(
    "it_effects",
    meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False),
    Column("coi", String(32), nullable=False),
    Column("traceparent", String(64)),
)


async def project(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
    assert isinstance(msg, PatientEnrolled)
    if msg.coi.endswith("999999"):
        raise RuntimeError(f"projection refuses {msg.coi}")
    await uow.session.execute(
        insert(effects).values(message_id=env.id, coi=msg.coi, traceparent=env.traceparent)
    )


async def main(args: argparse.Namespace) -> None:
    configure_logging("it-consumer", "INFO")
    await upgrade(args.db_url)
    engine = create_engine(args.db_url)
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    sessions = session_factory(engine)
    dead_letters = KafkaPublisher(args.bootstrap, "it-consumer-dlq")
    await dead_letters.start()
    processor = InboxProcessor(
        args.group,
        lambda: UnitOfWork(sessions, SystemClock(), UuidGenerator(), "/vein2vein/it"),
        {PatientEnrolled: project},
        dead_letters,
        max_attempts=args.max_attempts,
        retry_backoff=0.05,
    )
    broker = make_broker(args.bootstrap, "it-consumer")
    subscribe(broker, processor, args.topic)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await broker.start()
    print("consumer ready", flush=True)
    await stop.wait()
    await broker.stop()
    await dead_letters.stop()
    await engine.dispose()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--db-url", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--max-attempts", type=int, default=3)
    asyncio.run(main(p.parse_args()))
