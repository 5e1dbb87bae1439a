"""Which store `v2v audit verify` is looking at: its URL (or a SQLite file path), whether it
holds an event store at all, whose it is, and that service's read-model checks."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from v2v_runtime.audit import Check
from v2v_runtime.db.engine import is_sqlite

EVENT_STORE = ("v2v_events", "v2v_streams")


class StoreUnreadable(Exception):
    """No event store to verify here (exit code 2)."""


def to_url(given: str) -> str:
    """A database URL; a plain path is a SQLite file. A file that does not exist is refused
    here, so nothing is created by looking."""
    url = given if "://" in given else f"sqlite+aiosqlite:///{Path(given).resolve()}"
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


def _tables_and_heads(conn: Connection) -> tuple[set[str], list[str]]:
    tables = set(inspect(conn).get_table_names())
    heads: list[str] = []
    if "alembic_version" in tables:
        heads = [
            str(v) for v in conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
        ]
    return tables, heads


async def inspect_store(conn: AsyncConnection) -> str | None:
    """Refuse a database without an event store; return the service it belongs to (from
    its migration heads, e.g. ``custody_0002``), if it says."""
    tables, heads = await conn.run_sync(_tables_and_heads)
    if not set(EVENT_STORE) <= tables:
        raise StoreUnreadable(
            "this database has no event store (no v2v_events/v2v_streams tables): "
            "is it a vein2vein service's database?"
        )
    if "v2v_seals" not in tables:
        raise StoreUnreadable(
            "this event store predates seals (runtime_0002): start the service or run "
            "`python -m v2v_<service> migrate` first"
        )
    services = {h.split("_")[0] for h in heads} - {"runtime"}
    return services.pop() if len(services) == 1 else None


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
