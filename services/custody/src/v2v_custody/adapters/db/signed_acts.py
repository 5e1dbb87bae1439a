"""Which act each signature signs, for the views that show a record's acts one by one (the
chain of custody's links, a patient's infusions).

A signature is stored in its record's stream right after the act it signs, in the act's
transaction (``v2v_runtime.signatures.gate``): the act is the stream's last event before it
that is not itself a signature. Acts are named by their event's position in the store, as
the read models keep it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.db.tables import events, signatures
from v2v_runtime.signatures.model import SignatureView
from v2v_runtime.signatures.store import signatures_of


async def signatures_by_act(
    session: AsyncSession, record_ids: Collection[str], time_zone: str
) -> dict[int, list[SignatureView]]:
    """The signatures of these records, by the position of the event each one signs."""
    shown = await signatures_of(session, record_ids, time_zone)
    if not shown:
        return {}
    by_id = {s.signature_id: s for found in shown.values() for s in found}
    rows = await session.execute(
        select(events.c.stream_id, events.c.position, signatures.c.signature_id)
        .select_from(events.outerjoin(signatures, signatures.c.position == events.c.position))
        .where(events.c.stream_id.in_(list(shown)))
        .order_by(events.c.position)
    )
    acts: dict[int, list[SignatureView]] = defaultdict(list)
    last_act: dict[str, int] = {}
    for stream_id, position, signature_id in rows:
        if signature_id is None:
            last_act[stream_id] = position
        elif stream_id in last_act and signature_id in by_id:
            acts[last_act[stream_id]].append(by_id[signature_id])
    return dict(acts)
