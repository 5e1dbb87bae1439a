"""Which store `v2v audit verify` (and `v2v rebuild`) is looking at: its URL (or a SQLite
file path), whether it holds an event store at all, whose it is, and that service's
read-model checks."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from v2v_events.catalog import SEALED_SERVICES, Service
from v2v_runtime.audit import Check
from v2v_runtime.db.engine import is_sqlite
from v2v_runtime.db.tables import events

EVENT_STORE = ("v2v_events", "v2v_streams")
# URLs as people copy them (psql, SQLAlchemy's sync drivers) and the async drivers we use.
_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


class StoreUnreadable(Exception):
    """No event store to verify here (exit code 2)."""


def to_url(given: str) -> str:
    """A database URL with an async driver; a plain path is a SQLite file. A file that does
    not exist is refused here, so nothing is created by looking."""
    if "://" not in given:
        given = f"sqlite+aiosqlite:///{Path(given).expanduser().resolve()}"
    scheme, rest = given.split("://", 1)
    url = f"{_ASYNC_DRIVERS.get(scheme, scheme)}://{rest}"
    if is_sqlite(url):
        db = make_url(url).database
        if not db or db == ":memory:" or not Path(db).is_file():
            raise StoreUnreadable(f"no database file at {db or given!r} (nothing was created)")
    return url


def describe(url: str) -> str:
    """The URL without its password, for the report."""
    if is_sqlite(url):
        return f"SQLite file {make_url(url).database}"
    return make_url(url).render_as_string(hide_password=True)


def _tables_and_owners(conn: Connection) -> tuple[set[str], set[str]]:
    """The tables, and the services the store names as its owner: by its migration heads
    (e.g. ``custody_0002``), else (a store on the runtime's migrations only, such as the
    journey's) by the prefix of its event types (``journey.opened``)."""
    tables = set(inspect(conn).get_table_names())
    owners: set[str] = set()
    if "alembic_version" in tables:
        heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
        owners = {str(h).split("_")[0] for h in heads} - {"runtime"}
    if not owners and set(EVENT_STORE) <= tables:
        types = conn.execute(select(events.c.event_type).distinct()).scalars()
        owners = {str(t).split(".", 1)[0] for t in types} & {s.value for s in Service}
    return tables, owners


async def inspect_store(conn: AsyncConnection) -> str | None:
    """Refuse a database without an event store; return the service it belongs to (from
    its migration heads or its event types), if it says."""
    tables, owners = await conn.run_sync(_tables_and_owners)
    if not set(EVENT_STORE) <= tables:
        shown = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
        found = f"its tables: {shown}" if tables else "it is empty"
        raise StoreUnreadable(
            f"this database has no event store (no v2v_events/v2v_streams tables; {found}). "
            "Give a vein2vein service's database: ./v2v up lists them as database_urls in "
            ".v2v/endpoints.json"
        )
    if "v2v_seals" not in tables:
        raise StoreUnreadable(
            "this event store predates seals (runtime_0002): start the service or run "
            "`python -m v2v_<service> migrate` first"
        )
    return owners.pop() if len(owners) == 1 else None


def is_sealed(service: str) -> bool:
    """Does ``service`` seal its store and publish the seals on Kafka?"""
    return service in {s.value for s in SEALED_SERVICES}


def service_checks(service: str) -> list[Check]:
    """``v2v_<service>.adapters.db.audit.CHECKS``, where the service has read-model checks."""
    name = f"v2v_{service}.adapters.db.audit"
    try:
        found = importlib.util.find_spec(name)
    except ModuleNotFoundError:  # no such service package installed
        return []
    if found is None:
        return []
    checks: list[Check] = list(importlib.import_module(name).CHECKS)
    return checks
