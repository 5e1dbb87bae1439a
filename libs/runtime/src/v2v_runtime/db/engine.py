"""Engine and session factory: the same code on SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and write-ahead locking."""
    if not is_sqlite(url):
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)
    db = make_url(url).database
    if db and db != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see "begin").
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: a deferred transaction that reads then writes can
        # fail with SQLITE_BUSY instead of waiting when another process writes meanwhile.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_snapshot_engine(url: str) -> AsyncEngine:
    """A read-only engine whose every transaction reads one consistent snapshot (for audits
    of a live store): REPEATABLE READ on PostgreSQL; on SQLite an existing file opened
    read-only (never created) with a deferred BEGIN, which holds the WAL snapshot."""
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True).execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    db = make_url(url).database
    if not db or db == ":memory:" or not Path(db).is_file():
        raise FileNotFoundError(f"no SQLite database at {db!r}")
    engine = create_async_engine(
        f"sqlite+aiosqlite:///file:{quote(str(Path(db).resolve()))}?mode=ro&uri=true",
        connect_args={"timeout": 30},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# SQLite has one writer at a time, and every transaction here begins IMMEDIATE (takes the
# write lock). Writers of one process queue on an asyncio lock instead of in SQLite's busy
# handler, which sleeps (up to 100 ms a round) and so turns 32 concurrent requests into
# seconds of p99. The lock is per engine; another process's writers still meet SQLite's.
_writer_locks: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()
_held: ContextVar[frozenset[int]] = ContextVar("v2v_sqlite_writer_held", default=frozenset())


@asynccontextmanager
async def writer_turn(engine: AsyncEngine | None) -> AsyncIterator[None]:
    """Wait for this process's turn to write ``engine`` (SQLite only; a no-op on
    PostgreSQL, which has row locks). Re-entrant within one task."""
    if engine is None or engine.dialect.name != "sqlite":
        yield
        return
    key = id(engine.sync_engine)
    if key in _held.get():
        yield
        return
    lock = _writer_locks.get(engine.sync_engine)
    if lock is None:
        lock = _writer_locks[engine.sync_engine] = asyncio.Lock()
    async with lock:
        token = _held.set(_held.get() | {key})
        try:
            yield
        finally:
            _held.reset(token)
