"""Read models equal a rebuild from the event store: each service's read tables are dumped,
rebuilt in place by the service's own ``rebuild`` (``python -m v2v_<service> rebuild``,
what ``v2v rebuild`` runs) and dumped again; any row that differs is a finding. Run it with
the platform's roles stopped: nothing else may write meanwhile."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
from collections import Counter
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

Dump = dict[str, Counter[str]]


def read_tables(service: str) -> list[Table]:
    persistence = importlib.import_module(f"v2v_{service}.bootstrap").PERSISTENCE
    return list(persistence.read_tables)


async def dump(engine: AsyncEngine, tables: list[Table]) -> Dump:
    out: Dump = {}
    async with engine.connect() as conn:
        for table in tables:
            rows = (await conn.execute(select(table))).mappings().all()
            out[table.name] = Counter(_canonical(dict(r)) for r in rows)
    return out


def _canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


async def rebuild(service: str, database_url: str) -> str:
    """The service's own rebuild, as an operator runs it; returns what it printed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"v2v_{service}",
        "rebuild",
        env={**os.environ, "V2V_DATABASE_URL": database_url, "V2V_SERVICE": service},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace").strip()
    if proc.returncode != 0:
        raise RuntimeError(f"{service} rebuild failed: {text[-1500:]}")
    return text.splitlines()[-1] if text else ""


def differences(service: str, live: Dump, rebuilt: Dump) -> list[str]:
    found = []
    for table in sorted(set(live) | set(rebuilt)):
        before, after = live.get(table, Counter()), rebuilt.get(table, Counter())
        only_live, only_rebuilt = before - after, after - before
        if only_live or only_rebuilt:
            example = next(iter(only_live or only_rebuilt))
            found.append(
                f"{service}.{table}: {sum(only_live.values())} live row(s) not rebuilt, "
                f"{sum(only_rebuilt.values())} rebuilt row(s) not live; e.g. {example[:300]}"
            )
    return found


async def compare(engines: dict[str, AsyncEngine], urls: dict[str, str]) -> tuple[int, list[str]]:
    """Rows compared and the differences, over every service (side by side: each service
    rebuilds its own database)."""

    async def one(service: str, engine: AsyncEngine) -> tuple[int, list[str]]:
        tables = read_tables(service)
        live = await dump(engine, tables)
        await rebuild(service, urls[service])
        rebuilt = await dump(engine, tables)
        return sum(sum(c.values()) for c in live.values()), differences(service, live, rebuilt)

    done = await asyncio.gather(*(one(s, e) for s, e in engines.items()))
    return sum(rows for rows, _ in done), [d for _, found in done for d in found]
