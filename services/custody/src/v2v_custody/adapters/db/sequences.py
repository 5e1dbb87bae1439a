"""Identifier counters (CoI and DIN sequences) per facility and year.

A number is allocated inside the transaction that uses it (enrollment, collection): if that
transaction rolls back, so does the allocation. Compare-and-set on ``last_value`` (optimistic
concurrency) means two transactions never hand out the same number: the loser re-reads and
tries again, and gives up with a ConcurrencyError (HTTP 409) under sustained contention.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.errors import Conflict
from v2v_runtime.eventstore import ConcurrencyError

from ...domain.isbt128 import SEQUENCE_MAX
from .tables import sequences

ATTEMPTS = 5


async def allocate(session: AsyncSession, name: str, facility_id: str, year: int) -> int:
    """The next number of sequence ``name`` for ``facility_id`` in ``year`` (from 1)."""
    key = (
        (sequences.c.name == name)
        & (sequences.c.facility_id == facility_id)
        & (sequences.c.year == year)
    )
    current = 0
    for _ in range(ATTEMPTS):
        row = (await session.execute(select(sequences.c.last_value).where(key))).first()
        if row is None:
            try:
                async with session.begin_nested():
                    await session.execute(
                        insert(sequences).values(
                            name=name, facility_id=facility_id, year=year, last_value=1
                        )
                    )
                return 1
            except IntegrityError:
                continue  # another transaction created the counter first: read it
        current = int(row.last_value)
        if current >= SEQUENCE_MAX:
            raise Conflict(
                "sequence-exhausted",
                f"no {name} numbers left for facility {facility_id} in year {year:02d}",
            )
        moved = cast(
            CursorResult[Any],
            await session.execute(
                update(sequences)
                .where(key & (sequences.c.last_value == current))
                .values(last_value=current + 1)
            ),
        )
        if moved.rowcount == 1:
            return current + 1
    raise ConcurrencyError(f"sequence:{name}:{facility_id}:{year:02d}", current, None)
