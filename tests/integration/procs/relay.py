"""The outbox relay as its own process; ``--crash-after-publish`` kills it between
publishing a batch to Kafka and marking the rows published (as a power cut would)."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence

from v2v_runtime.clock import SystemClock
from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.kafka import KafkaPublisher
from v2v_runtime.relay import OutboxRelay, OutboxRow

CRASH_EXIT = 3


class CrashingRelay(OutboxRelay):
    async def mark_published(self, rows: Sequence[OutboxRow]) -> None:
        print(f"published {len(rows)}; crashing before marking", flush=True)
        os._exit(CRASH_EXIT)


async def main(args: argparse.Namespace) -> None:
    engine = create_engine(args.db_url)
    publisher = KafkaPublisher(args.bootstrap, "it-relay")
    await publisher.start()
    cls = CrashingRelay if args.crash_after_publish else OutboxRelay
    relay = cls(session_factory(engine), publisher, SystemClock())
    sent = await relay.run_once()
    print(f"published and marked {sent}", flush=True)
    await publisher.stop()
    await engine.dispose()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--db-url", required=True)
    p.add_argument("--crash-after-publish", action="store_true")
    asyncio.run(main(p.parse_args()))
