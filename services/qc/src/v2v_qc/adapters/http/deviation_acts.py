"""QA's signed acts on a deviation (classification and closure, meaning approved): the
deviation shown, signed by a QA reviewer of its site (the lot's, or the batches'), done as
the signer, the signature stored after it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from v2v_events.contracts.common import Actor
from v2v_runtime.authz import Caller, Roles
from v2v_runtime.errors import NotFound
from v2v_runtime.signatures.gate import Signing
from v2v_runtime.signatures.model import Meaning, SignatureRequest
from v2v_runtime.uow import UnitOfWork

from ...application.deviations import ClassificationEntry, ClosureEntry
from ...application.views import DeviationView
from ..db import queries
from .access import sees_deviation
from .signing import lot_sites


class SignedClosure(ClosureEntry):
    signature: SignatureRequest | None = None


class SignedClassification(ClassificationEntry):
    signature: SignatureRequest | None = None


async def visible_deviation(
    session: AsyncSession, caller: Caller, deviation_id: str
) -> DeviationView:
    """The deviation, or 404 (also for another site's)."""
    found = await queries.deviation_view(session, deviation_id)
    if found is None or not await sees_deviation(session, caller, found):
        raise NotFound("deviation-not-found", f"no deviation {deviation_id!r}")
    return found


async def signed_deviation_act(
    uow: UnitOfWork,
    signing: Signing,
    caller: Caller,
    deviation_id: str,
    entry: SignedClosure | SignedClassification,
    zone: str,
    *,
    statement: Callable[[DeviationView], str],
    act: Callable[[Actor], Awaitable[object]],
    shown: Callable[[DeviationView], dict[str, Any]] = lambda _: {},
) -> DeviationView:
    """The act (``act``, as the signer) on the deviation the caller sees, signed; the
    deviation after it."""
    async with uow:
        found = await visible_deviation(uow.session, caller, deviation_id)
        pending = await signing.authorize(
            uow,
            caller,
            record_id=deviation_id,
            meaning=Meaning.APPROVED,
            statement=statement(found),
            values={
                "deviation_id": deviation_id,
                **shown(found),
                **entry.model_dump(mode="json", exclude={"signature"}),
            },
            request=entry.signature,
            roles=(Roles.QA_REVIEWER,),
            sites=(
                await lot_sites(uow.session, found.lot_id)
                if found.lot_id is not None
                else (found.site,)
            ),
        )
        await act(pending.signer.actor)
        await pending.record(uow)
        view = await queries.deviation_view(uow.session, deviation_id, zone)
    assert view is not None
    return view


def subject(d: DeviationView) -> str:
    """What a deviation is about, for a signed statement: its lot, the chain of identity
    (its units, its shipment) or the batches it names."""
    if d.lot_id is not None:
        return f"lot {d.lot_id}"
    if d.coi is not None:
        named = [f"units {', '.join(d.unit_ids)}"] if d.unit_ids else []
        named += [f"shipment {d.shipment_id}"] if d.shipment_id else []
        return f"chain of identity {d.coi}" + (f" ({'; '.join(named)})" if named else "")
    batches = "batches " + ", ".join(b.batch_id for b in d.batches)
    return batches + (f" (material lot {d.material_lot_id})" if d.material_lot_id else "")
