"""Keeping the record of a refused use once the act's transaction has rolled back
(v2v_batch.application.refusals)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from v2v_runtime.uow import UnitOfWork

from ...application.refusals import RecordedRefusal


@asynccontextmanager
async def keeping_refusals(uow: UnitOfWork) -> AsyncIterator[None]:
    """Around ``async with uow:``: a ``RecordedRefusal`` escaping it (the act rolled back)
    is recorded in a new transaction of ``uow``, then answered as its problem.

        async with keeping_refusals(uow), uow:
            ... the act, whose ports may refuse a use ...
    """
    try:
        yield
    except RecordedRefusal as refused:
        async with uow:
            await refused.record(uow)
        raise
