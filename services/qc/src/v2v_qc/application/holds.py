"""Holds (domain/hold.py): placed by a deviation's containment (one per unit, lot and
material lot it names; batches and instruments are recorded on the deviation, not held) or
by QA directly; released by QA, signed. Each placement and release is published
(v2v_events.contracts.holds), keyed by the item's CoI when QC knows it, else by its id, so
that the owning services enforce it. A held lot is not released by QA (``require_not_held``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts import holds as h
from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict, DomainError, NotFound
from v2v_runtime.uow import UnitOfWork

from ..domain.common import QA_REVIEWER, Who, require_role
from ..domain.deviation import Deviation
from ..domain.deviation_events import AffectedItem
from ..domain.hold import Hold, HoldKind, hold_id_for, holdable
from ..domain.lot import Lot, lot_stream
from .messages import actor, who
from .ports import ActiveHolds


class HoldEntry(BaseModel):
    """QA's hold on an item, with the reason (and the deviation, if it is one's)."""

    model_config = ConfigDict(extra="forbid")

    kind: HoldKind
    id: str = Field(min_length=1, max_length=128, description="the unit, lot or material lot")
    reason: str = Field(min_length=1, max_length=4000)
    deviation_id: str | None = Field(None, min_length=1, max_length=64)
    site: str | None = Field(
        None, min_length=1, max_length=200, description="whose hold (a lot: its site)"
    )


class HoldReleaseEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=4000)


def subject(hold: Hold) -> str:
    """The key of the hold's messages: the item's CoI, else the item's id."""
    return hold.info.coi or hold.info.item_id


def placed_message(hold: Hold) -> h.HoldPlaced:
    p = hold.info
    return h.HoldPlaced(
        hold_id=hold.id,
        item_kind=h.HoldItemKind(p.item_kind.value),
        item_id=p.item_id,
        coi=p.coi,
        site=p.site,
        deviation_id=p.deviation_id,
        reason=p.reason,
        placed_at=p.placed_at,
        placed_by=actor(p.placed_by),
    )


def released_message(hold: Hold) -> h.HoldReleased:
    p, r = hold.info, hold.released
    assert r is not None
    return h.HoldReleased(
        hold_id=hold.id,
        item_kind=h.HoldItemKind(p.item_kind.value),
        item_id=p.item_id,
        coi=p.coi,
        site=p.site,
        deviation_id=p.deviation_id,
        reason=r.reason,
        released_at=r.released_at,
        released_by=actor(r.released_by),
    )


async def _lot(uow: UnitOfWork, kind: HoldKind, item_id: str) -> Lot | None:
    if kind is not HoldKind.LOT:
        return None
    return await uow.repository(Lot).find(lot_stream(item_id))


async def _place(
    uow: UnitOfWork,
    hold_id: str,
    kind: HoldKind,
    item_id: str,
    *,
    site: str | None,
    deviation_id: str | None,
    reason: str,
    by: Who,
    at: datetime,
    coi: str | None = None,
) -> tuple[Hold, bool]:
    """The hold, placed now (True) or found placed already (False). ``coi``: the item's,
    when the requester knows it and QC does not (a unit)."""
    repo = uow.repository(Hold)
    found = await repo.find(hold_id)
    if found is not None:
        return found, False
    lot = await _lot(uow, kind, item_id)
    if lot is not None:
        coi = lot.coi  # QC knows the CoI of its lots
    if lot is not None and lot.registered is not None:
        site = lot.registered.manufacturing_site or site
    hold = Hold.place(
        hold_id,
        kind=kind,
        item_id=item_id,
        coi=coi,
        site=site,
        deviation_id=deviation_id,
        reason=reason,
        by=by,
        at=at,
    )
    await repo.save(hold, by.model_dump())
    await uow.publish(placed_message(hold), subject=subject(hold))
    return hold, True


async def hold_for_containment(
    uow: UnitOfWork, deviation: Deviation, items: Sequence[AffectedItem], by: Who, at: datetime
) -> list[str]:
    """One hold per unit, lot and material lot of the containment (those placed already
    kept); the ids of the deviation's holds."""
    placed: list[str] = []
    site = deviation.info.site  # on batches: its own; on a lot: the lot's
    if deviation.info.lot_id is not None:
        own = await _lot(uow, HoldKind.LOT, deviation.info.lot_id)
        if own is not None and own.registered is not None:
            site = own.registered.manufacturing_site
    reason = f"Containment of deviation {deviation.id}: {deviation.info.description}"[:4000]
    for item in items:
        kind = holdable(item)
        if kind is None:
            continue  # a batch or an instrument: listed on the deviation, no hold contract
        hold, _ = await _place(
            uow,
            hold_id_for(deviation.id, kind, item.id),
            kind,
            item.id,
            site=site,
            deviation_id=deviation.id,
            reason=reason,
            by=by,
            at=at,
        )
        placed.append(hold.id)
    return placed


async def place_hold(uow: UnitOfWork, entry: HoldEntry, who_: Actor) -> tuple[Hold, bool]:
    """QA places a hold (True: placed now; False: the same hold was placed already). With a
    deviation, the hold is the deviation's on the item (its stable id); without, QA's own:
    one placed and not released on the item is the same hold."""
    by = who(who_)
    require_role(by, QA_REVIEWER, "placing a hold")
    at = uow.clock.now()
    if entry.deviation_id is not None:
        deviation = await uow.repository(Deviation).find(entry.deviation_id)
        if deviation is None:
            raise DomainError(
                "deviation-unknown",
                f"no deviation {entry.deviation_id!r}",
                field="deviation_id",
            )
        hold_id = hold_id_for(entry.deviation_id, entry.kind, entry.id)
        site = entry.site or deviation.info.site
    else:
        own = [
            hid for hid, dev in await uow.port(ActiveHolds).on(entry.kind, entry.id) if dev is None
        ]
        hold_id = own[0] if own else f"H-{uow.ids.new_id()}"
        site = entry.site
    hold, new = await _place(
        uow,
        hold_id,
        entry.kind,
        entry.id,
        site=site,
        deviation_id=entry.deviation_id,
        reason=entry.reason,
        by=by,
        at=at,
    )
    if not new:
        hold.check_release()  # a released hold is not placed again under its id
    return hold, new


async def hold_on_request(uow: UnitOfWork, cmd: h.PlaceHold) -> tuple[Hold, bool]:
    """A requester (the journey's compensation) asks for a hold on an item it cannot use as
    planned: placed with its reason, by the requester, lifted only by QA. With a deviation QC
    knows, it is that deviation's hold on the item (one hold, whoever asked first); else the
    requester's own, stable per item. One released already is not placed again: QA has
    decided on it (False)."""
    kind = HoldKind(cmd.item_kind.value)
    known = cmd.deviation_id is not None and (
        await uow.repository(Deviation).find(cmd.deviation_id) is not None
    )
    owner = cmd.deviation_id if known and cmd.deviation_id else cmd.requested_by
    return await hold_for(
        uow,
        owner,
        kind,
        cmd.item_id,
        reason=cmd.reason,
        by=who(cmd.actor),
        coi=cmd.coi,
        site=cmd.site,
        deviation_id=cmd.deviation_id if known else None,
    )


async def hold_for(
    uow: UnitOfWork,
    owner: str,
    kind: HoldKind,
    item_id: str,
    *,
    reason: str,
    by: Who,
    coi: str | None = None,
    site: str | None = None,
    deviation_id: str | None = None,
) -> tuple[Hold, bool]:
    """``owner``'s hold on the item (stable id ``H-<owner>-<kind>-<item>``), placed now
    (True) or found placed, or released, already (False)."""
    return await _place(
        uow,
        hold_id_for(owner, kind, item_id),
        kind,
        item_id,
        site=site,
        deviation_id=deviation_id,
        reason=reason,
        by=by,
        at=uow.clock.now(),
        coi=coi,
    )


async def load_hold(uow: UnitOfWork, hold_id: str) -> Hold:
    hold = await uow.repository(Hold).find(hold_id)
    if hold is None:
        raise NotFound("hold-not-found", f"no hold {hold_id!r}", hold_id=hold_id)
    return hold


async def release_hold(
    uow: UnitOfWork, hold_id: str, entry: HoldReleaseEntry, signer: Actor
) -> Hold:
    """QA releases the hold as the signer (the signature is taken by the route)."""
    hold = await load_hold(uow, hold_id)
    by = who(signer)
    hold.release(entry.reason, by, uow.clock.now())
    await uow.repository(Hold).save(hold, by.model_dump())
    await uow.publish(released_message(hold), subject=subject(hold))
    return hold


async def require_not_held(uow: UnitOfWork, lot_id: str) -> None:
    """409 ``lot-held`` while a hold is placed on the lot (QA's release is refused)."""
    active = await uow.port(ActiveHolds).on(HoldKind.LOT, lot_id)
    if active:
        raise Conflict(
            "lot-held",
            f"lot {lot_id} is held ({', '.join(hid for hid, _ in active)}): release the hold first",
            lot_id=lot_id,
            hold_ids=[hid for hid, _ in active],
            deviation_ids=sorted({d for _, d in active if d is not None}),
        )
