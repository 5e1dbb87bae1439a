"""Effects a journey may have only once, counted in the read models (which the run checks
against a rebuild): one live booking of a kind per attempt, one live shipment per direction
and attempt, one batch per attempt, one QC panel and at most one certificate per lot, one
accepted receipt of a unit at a place, one thaw per unit, one infusion per patient, and no
more collections than the journey's design makes. Each is a command or request applied twice
if broken."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from v2v_batch.adapters.db.tables import batches
from v2v_custody.adapters.db.tables import collections, infusions, receipts, thaws
from v2v_logistics.adapters.db.tables import bookings, shipments
from v2v_qc.adapters.db.tables import certificates, panels


@dataclass(frozen=True)
class Once:
    """Rows of ``table`` (``where`` only) sharing ``columns``: at most one each."""

    service: str
    what: str
    table: Table
    columns: tuple[str, ...]
    where: ColumnElement[bool] | None = None


ONCE = (
    Once(
        "logistics",
        "live booking",
        bookings,
        ("coi", "kind", "attempt", "direction"),
        bookings.c.status != "cancelled",
    ),
    Once(
        "logistics",
        "live shipment",
        shipments,
        ("coi", "direction", "attempt"),
        shipments.c.status != "cancelled",
    ),
    Once("batch", "batch", batches, ("coi", "attempt")),
    Once("qc", "QC panel", panels, ("lot_id",)),
    Once("qc", "release certificate", certificates, ("lot_id",)),
    Once(
        "custody",
        "accepted receipt",
        receipts,
        ("unit_id", "location"),
        receipts.c.outcome == "accepted",
    ),
    Once("custody", "thaw", thaws, ("unit_id",), thaws.c.outcome == "thawed"),
    Once("custody", "infusion", infusions, ("coi",)),
)


async def doubled_effects(
    engines: Mapping[str, AsyncEngine], collections_by_coi: Mapping[str, int]
) -> list[str]:
    """Each effect found more than once; ``collections_by_coi``: how many collections each
    journey's design makes (its patients only are counted)."""
    found: list[str] = []
    for once in ONCE:
        cols = [once.table.c[name] for name in once.columns]
        query = select(*cols, func.count()).group_by(*cols).having(func.count() > 1)
        if once.where is not None:
            query = query.where(once.where)
        async with engines[once.service].connect() as conn:
            rows = (await conn.execute(query)).all()
        found += [f"{once.service}: {once.what} {_key(row[:-1])} {row[-1]} times" for row in rows]
    async with engines["custody"].connect() as conn:
        made = (
            await conn.execute(select(collections.c.coi, func.count()).group_by(collections.c.coi))
        ).all()
    found += [
        f"custody: {n} collections of {coi}, designed {collections_by_coi[coi]}"
        for coi, n in made
        if coi in collections_by_coi and n > collections_by_coi[coi]
    ]
    return found


def _key(values: Sequence[object]) -> str:
    return "/".join(str(v) for v in values if v is not None)
