"""Signatures in the read models: every view of a signed record shows who signed (printed
name), when (UTC and the site's time) and meaning what (11.50)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import signatures
from ..eventstore import StoredEvent
from .model import Meaning, SignatureRecorded, SignatureView


async def project_signature(
    session: AsyncSession, stored: StoredEvent, ev: SignatureRecorded
) -> None:
    await session.execute(
        insert(signatures).values(
            signature_id=ev.signature_id,
            record_id=ev.record_id,
            meaning=ev.meaning.value,
            signer_id=ev.signer.user_id,
            signer_name=ev.signer.name,
            signer_username=ev.signer.username,
            signer_role=ev.signer.role,
            signed_at=ev.signed_at,
            content_hash=ev.content_hash,
            statement=str(ev.content.get("statement", "")),
            components=",".join(ev.authentication.components),
            session_id=ev.authentication.session_id,
            position=stored.position,
        )
    )


async def signatures_of(
    session: AsyncSession, record_ids: Collection[str], time_zone: str = "UTC"
) -> dict[str, list[SignatureView]]:
    """The signatures of each record, in the order they were given."""
    if not record_ids:
        return {}
    zone = ZoneInfo(time_zone)
    rows = await session.execute(
        select(signatures)
        .where(signatures.c.record_id.in_(list(record_ids)))
        .order_by(signatures.c.position)
    )
    found: dict[str, list[SignatureView]] = defaultdict(list)
    for r in rows:
        found[r.record_id].append(
            SignatureView(
                signature_id=r.signature_id,
                record_id=r.record_id,
                meaning=Meaning(r.meaning),
                signer_id=r.signer_id,
                signer_name=r.signer_name,
                signer_role=r.signer_role,
                signed_at=r.signed_at,
                signed_at_site=r.signed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z"),
                statement=r.statement,
                content_hash=r.content_hash,
                components=r.components,
            )
        )
    return dict(found)
