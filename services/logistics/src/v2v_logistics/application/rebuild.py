"""Rebuild the read models by replaying the event store (after a projection change)."""

from __future__ import annotations

from sqlalchemy import delete

from v2v_runtime.aggregate import rebuild_projection
from v2v_runtime.uow import UnitOfWork

from ..adapters.db.projector import project
from ..adapters.db.tables import READ_MODELS
from .common import CODEC


async def rebuild_read_models(uow: UnitOfWork) -> int:
    """Empty the read tables and replay every logistics event into them; returns the count."""
    for table in READ_MODELS:
        await uow.session.execute(delete(table))
    return await rebuild_projection(uow, CODEC, project)
