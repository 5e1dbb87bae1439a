"""Waking the outbox relay when a transaction committed outbox rows.

In the committing process the relay is woken at once (an asyncio event per database); on
PostgreSQL the committing transaction also sends ``NOTIFY v2v_outbox``, which PostgreSQL
delivers on commit to a relay in any process (``LISTEN``). Polling stays as the fallback,
so a lost wake-up costs at most one poll interval, never a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

log = logging.getLogger("v2v.relay")

CHANNEL = "v2v_outbox"
_events: weakref.WeakKeyDictionary[Engine, asyncio.Event] = weakref.WeakKeyDictionary()


def outbox_event(engine: AsyncEngine) -> asyncio.Event:
    """The event set whenever this process commits outbox rows to ``engine``'s database."""
    event = _events.get(engine.sync_engine)
    if event is None:
        event = _events[engine.sync_engine] = asyncio.Event()
    return event


async def announce(session: AsyncSession) -> None:
    """Inside the committing transaction: tell other processes' relays (PostgreSQL only;
    the notification is delivered only if the transaction commits)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"NOTIFY {CHANNEL}"))


def committed(engine: AsyncEngine) -> None:
    """After the commit: wake this process's relay."""
    outbox_event(engine).set()


async def listen(engine: AsyncEngine, stop: asyncio.Event) -> None:
    """Until ``stop``: set the engine's outbox event on every NOTIFY from another process
    (PostgreSQL). Reconnects after a lost connection; returns at once on SQLite."""
    if engine.dialect.name != "postgresql":
        return
    event = outbox_event(engine)

    def wake(*_: Any) -> None:
        event.set()

    while not stop.is_set():
        try:
            async with engine.connect() as conn:
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                await driver.add_listener(CHANNEL, wake)
                event.set()  # rows committed while we were not listening
                try:
                    await stop.wait()
                finally:
                    with contextlib.suppress(Exception):
                        await driver.remove_listener(CHANNEL, wake)
        except Exception:
            log.warning("outbox LISTEN connection lost; polling until it is back", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5.0)
