"""QA's signed acts on a deviation (meaning approved): the deviation shown, checked for the
act (its state, the act's dates) before anyone is asked to sign, signed by a QA reviewer of
its site (the lot's, or the batches'), done as the signer, the signature stored after it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_events.contracts.common import Actor
from v2v_runtime.authz import Caller, Roles
from v2v_runtime.errors import NotFound
from v2v_runtime.signatures.gate import Signing
from v2v_runtime.signatures.model import Meaning, SignatureRequest
from v2v_runtime.uow import UnitOfWork

from ...application.deviation_views import DeviationView
from ...domain.deviation import Deviation
from ...domain.deviation_policy import DeviationPolicy
from ..db.deviation_queries import deviation_view
from .access import sees_deviation
from .signing import lot_sites


class WithSignature(BaseModel):
    """A signed act's body: its values, and the signature once the content was shown."""

    signature: SignatureRequest | None = None


async def visible_deviation(
    session: AsyncSession,
    caller: Caller,
    deviation_id: str,
    policy: DeviationPolicy,
    zone: str = "UTC",
) -> DeviationView:
    """The deviation, or 404 (also for another site's)."""
    found = await deviation_view(session, deviation_id, policy, zone)
    if found is None or not await sees_deviation(session, caller, found):
        raise NotFound("deviation-not-found", f"no deviation {deviation_id!r}")
    return found


async def deviation_sites(session: AsyncSession, d: DeviationView) -> tuple[str | None, ...]:
    """The sites whose QA may sign for the deviation: its lot's, or its own (on batches)."""
    return await lot_sites(session, d.lot_id) if d.lot_id is not None else (d.site,)


async def signed_deviation_act(
    uow: UnitOfWork,
    signing: Signing,
    caller: Caller,
    deviation_id: str,
    policy: DeviationPolicy,
    zone: str,
    entry: WithSignature,
    *,
    statement: Callable[[DeviationView], str],
    act: Callable[[Actor], Awaitable[object]],
    check: Callable[[Deviation, date], object],
    shown: Callable[[DeviationView], dict[str, Any]] = lambda _: {},
) -> DeviationView:
    """The act (``act``, as the signer) on the deviation the caller sees, signed; the
    deviation after it. ``check`` refuses what cannot be done (out of order, bad dates)
    before the content is shown for signing; the act checks everything again as the
    signer (role, segregation of duties). The values shown are the body's, without the
    ones left out."""
    async with uow:
        found = await visible_deviation(uow.session, caller, deviation_id, policy)
        check(await uow.repository(Deviation).get(deviation_id), policy.local_date(uow.clock.now()))
        pending = await signing.authorize(
            uow,
            caller,
            record_id=deviation_id,
            meaning=Meaning.APPROVED,
            statement=statement(found),
            values={
                "deviation_id": deviation_id,
                **shown(found),
                **entry.model_dump(mode="json", exclude={"signature"}, exclude_none=True),
            },
            request=entry.signature,
            roles=(Roles.QA_REVIEWER,),
            sites=await deviation_sites(uow.session, found),
        )
        await act(pending.signer.actor)
        await pending.record(uow)
        view = await deviation_view(uow.session, deviation_id, policy, zone)
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
    if not d.batches:
        return f"site {d.site}" + (f", instrument {d.equipment_id}" if d.equipment_id else "")
    batches = "batches " + ", ".join(b.batch_id for b in d.batches)
    return batches + (f" (material lot {d.material_lot_id})" if d.material_lot_id else "")
