"""After the cohort: wait until the platform has nothing left in flight (every outbox row
published, every consumer group at the end of its topics) before judging it."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from v2v_cli.chaos import kafka_log
from v2v_cli.chaos.evidence import BRIDGE_GROUP
from v2v_cli.chaos.reconcile import handled
from v2v_events.catalog import consumer_group
from v2v_journey.worker import BRIDGED_TOPICS
from v2v_runtime.db.tables import outbox


async def in_flight(
    engines: dict[str, AsyncEngine], bootstrap: str, consumers: bool = True
) -> list[str]:
    """What is still on its way: unpublished outbox rows, records not yet consumed (unless
    not ``consumers``: they are stopped)."""
    left = []
    for service, engine in engines.items():
        async with engine.connect() as conn:
            backlog = await conn.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        if backlog:
            left.append(f"{service} outbox: {backlog} row(s) unpublished")
    if not consumers:
        return left
    groups = {consumer_group(s, "inbox"): handled(s)[1] for s in engines}
    groups[BRIDGE_GROUP] = list(BRIDGED_TOPICS)
    ends = await kafka_log.end_offsets(bootstrap, kafka_log.flow_topics())
    for group, topics in groups.items():
        lag = kafka_log.behind(ends, await kafka_log.committed(bootstrap, group), topics)
        if lag:
            left.append(f"{group}: {lag} record(s) not consumed")
    return left


async def settle(
    engines: dict[str, AsyncEngine],
    bootstrap: str,
    within_s: float = 180.0,
    consumers: bool = True,
) -> list[str]:
    """[] once nothing is in flight; else what still was after ``within_s``."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            left = await in_flight(engines, bootstrap, consumers)
        except Exception as exc:  # the broker or a database not answering
            left = [f"could not read the platform's state: {type(exc).__name__}: {exc}"]
        if not left or time.monotonic() > deadline:
            return [f"still in flight after {within_s:.0f} s: {item}" for item in left]
        await asyncio.sleep(1.0)
