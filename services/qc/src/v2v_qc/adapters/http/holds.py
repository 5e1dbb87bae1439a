"""HTTP: holds — QA places one (a deviation's containment places them too), QA releases one
signed (meaning released: QA releases the item from its hold as from a quarantine; without
a signature 428 with the content to sign), anyone of the quality unit reads them (of their
sites: a hold belongs to its site, its lot's for a lot)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from v2v_runtime.authz import Roles
from v2v_runtime.errors import NotFound
from v2v_runtime.http_deps import Kit, NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning

from ...application.hold_views import HoldView
from ...application.holds import (
    HoldEntry,
    HoldReleaseEntry,
    load_hold,
    place_hold,
    release_hold,
)
from ...domain.hold import HoldKind, HoldState
from ..db.holds import find_holds, hold_view
from .access import QualityUnit, Reader
from .deviation_acts import WithSignature


class SignedHoldRelease(HoldReleaseEntry, WithSignature):
    """QA's release of a hold, signed."""


def holds_router() -> APIRouter:
    router = APIRouter(tags=["holds"])

    @router.get("/holds")
    async def list_holds(
        kit: Kit,
        caller: Reader,
        kind: HoldKind | None = None,
        id: str | None = None,
        deviation_id: str | None = None,
        state: HoldState | None = None,
    ) -> list[HoldView]:
        """Holds of the caller's sites, by item (``kind``, ``id``), deviation and state
        (placed, released); at most 200, the oldest first."""
        async with kit.sessions() as session:
            return await find_holds(
                session, caller, kind=kind, item_id=id, deviation_id=deviation_id, state=state
            )

    @router.get("/holds/{hold_id}")
    async def get_hold(kit: Kit, caller: Reader, hold_id: str) -> HoldView:
        async with kit.sessions() as session:
            found = await hold_view(session, hold_id, caller)
        if found is None:
            raise NotFound("hold-not-found", f"no hold {hold_id!r}", hold_id=hold_id)
        return found

    @router.post("/holds", status_code=201)
    async def post_hold(
        uow: NewUow, response: Response, entry: HoldEntry, caller: QualityUnit
    ) -> HoldView:
        """QA (role qa-reviewer) holds a unit, a final lot or a material lot, with the reason
        (and the deviation, if it is one's); the owning service refuses to use it until QA
        releases the hold. The same hold placed again: 200 with it as it is."""
        if entry.site is not None:
            caller.require_site(entry.site, "a hold")
        async with uow:
            hold, new = await place_hold(uow, entry, caller.actor)
            view = await hold_view(uow.session, hold.id, caller)
        if view is None:  # placed at a site the caller does not see (its lot's)
            raise NotFound("hold-not-found", f"no hold {hold.id!r}", hold_id=hold.id)
        if not new:
            response.status_code = 200
        return view

    @router.post("/holds/{hold_id}/release")
    async def post_hold_release(
        uow: NewUow,
        signing: SigningGate,
        hold_id: str,
        entry: SignedHoldRelease,
        caller: QualityUnit,
    ) -> HoldView:
        """QA (role qa-reviewer) releases a hold, with the reason, signed (meaning released);
        the only way a hold is lifted. Released already: 409 ``hold-already-released``."""
        async with uow:
            found = await hold_view(uow.session, hold_id, caller)
            if found is None:
                raise NotFound("hold-not-found", f"no hold {hold_id!r}", hold_id=hold_id)
            (await load_hold(uow, hold_id)).check_release()  # before anything is signed
            what = f"{found.item_kind.value} {found.item_id}"
            pending = await signing.authorize(
                uow,
                caller,
                record_id=hold_id,
                meaning=Meaning.RELEASED,
                statement=f"I release {what} from hold {hold_id}.",
                values={
                    "hold_id": hold_id,
                    "item_kind": found.item_kind.value,
                    "item_id": found.item_id,
                    "deviation_id": found.deviation_id,
                    "reason": entry.reason,
                },
                request=entry.signature,
                roles=(Roles.QA_REVIEWER,),
                sites=(found.site,),
            )
            await release_hold(uow, hold_id, entry, pending.signer.actor)
            await pending.record(uow)
            view = await hold_view(uow.session, hold_id, caller)
        assert view is not None
        return view

    return router
