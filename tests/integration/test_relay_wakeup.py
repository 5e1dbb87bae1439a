"""PostgreSQL: a commit in another process wakes the relay at once (LISTEN/NOTIFY), with
polling set to a minute. Two engines stand for two processes: they share nothing in memory."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from v2v_cli.testing import ProvisionedStack
from v2v_runtime.clock import SystemClock, UuidGenerator
from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import upgrade
from v2v_runtime.relay import OutboxRelay
from v2v_runtime.testing import RecordingPublisher
from v2v_runtime.uow import UnitOfWork

from .support import enrolled

pytestmark = pytest.mark.integration


async def test_a_commit_elsewhere_wakes_the_relay_through_notify(stack: ProvisionedStack) -> None:
    url = await stack.create_database(f"it_wake_{uuid.uuid4().hex[:8]}")
    await upgrade(url)
    relay_engine, writer_engine = create_engine(url), create_engine(url)
    publisher = RecordingPublisher()
    relay = OutboxRelay(session_factory(relay_engine), publisher, SystemClock(), poll_interval=60)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(1.0)  # the relay is listening and has found nothing
        coi = "CHA1B2C26000042"
        writer = session_factory(writer_engine)
        async with UnitOfWork(writer, SystemClock(), UuidGenerator(), "/it") as uow:
            await uow.publish(enrolled(coi), subject=coi)
        for _ in range(100):
            if publisher.sent:
                break
            await asyncio.sleep(0.05)
        assert len(publisher.sent) == 1, "the relay was not woken by the other engine's commit"
    finally:
        stop.set()
        await task
        await relay_engine.dispose()
        await writer_engine.dispose()
