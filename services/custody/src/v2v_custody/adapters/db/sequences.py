"""Identifier counters (CoI and DIN sequences) per facility and year.

A number is allocated inside the transaction that uses it (enrollment, collection): if that
transaction rolls back, so does the allocation. One ``UPDATE … SET last_value = last_value +
1 … RETURNING`` both increments and reads the counter: the row lock (PostgreSQL) or the
write lock (SQLite) makes concurrent transactions take turns, so no number is handed out
twice. The first number of a year creates the counter; a transaction that raced it (its
UPDATE ran before the counter was committed) increments it again.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.errors import Conflict

from ...application.ports import SequenceName, Sequences
from ...domain.isbt128 import SEQUENCE_MAX
from .tables import sequences


class SequenceCounters(Sequences):
    """The ``Sequences`` port over ``custody_sequences``, in the unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def allocate(self, name: SequenceName, facility_id: str, year: int) -> int:
        return await allocate(self._session, name, facility_id, year)


async def allocate(session: AsyncSession, name: str, facility_id: str, year: int) -> int:
    """The next number of sequence ``name`` for ``facility_id`` in ``year`` (from 1)."""
    key = (
        (sequences.c.name == name)
        & (sequences.c.facility_id == facility_id)
        & (sequences.c.year == year)
    )
    for _ in range(3):
        taken = (
            await session.execute(
                update(sequences)
                .where(key & (sequences.c.last_value < SEQUENCE_MAX))
                .values(last_value=sequences.c.last_value + 1)
                .returning(sequences.c.last_value)
            )
        ).scalar_one_or_none()
        if taken is not None:
            return int(taken)
        last = (await session.execute(select(sequences.c.last_value).where(key))).scalar()
        if last is not None and last >= SEQUENCE_MAX:
            raise Conflict(
                "sequence-exhausted",
                f"no {name} numbers left for facility {facility_id} in year {year:02d}",
            )
        if last is not None:
            # A concurrent first number created the counter after the UPDATE looked (it
            # could not see the uncommitted row): increment it now.
            continue
        try:
            async with session.begin_nested():
                await session.execute(
                    insert(sequences).values(
                        name=name, facility_id=facility_id, year=year, last_value=1
                    )
                )
            return 1
        except IntegrityError:
            continue  # another transaction created the counter first: increment it
    raise Conflict("sequence-contended", f"{name} counter of {facility_id} could not be created")
