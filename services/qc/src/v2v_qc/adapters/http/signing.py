"""What QC's signed routes share: the site's time zone signatures are shown in, the site a
lot's signer must hold, and a signature just recorded as the views show it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.http_deps import Kit
from v2v_runtime.signatures.model import SignatureRecorded, SignatureView
from v2v_runtime.signatures.store import signatures_of

from ..db import queries


def _time_zone(kit: Kit) -> str:
    return kit.signing().settings.time_zone


# The site's time zone (V2V_SIGNING_TIME_ZONE), beside UTC in every signature shown.
SiteZone = Annotated[str, Depends(_time_zone)]


async def lot_sites(session: AsyncSession, lot_id: str) -> tuple[str | None]:
    """The sites whose people may sign for the lot (its manufacturing site; unknown: only
    people of every site, as for seeing it)."""
    _, site = await queries.lot_site(session, lot_id)
    return (site,)


async def shown(session: AsyncSession, signature: SignatureRecorded, zone: str) -> SignatureView:
    found = await signatures_of(session, [signature.record_id], zone)
    return next(s for s in found[signature.record_id] if s.signature_id == signature.signature_id)
