"""Keeping QC's holds from its public messages (the inbox side of v2v_runtime.holds): each
owning service keeps the item kinds it enforces, in the message's transaction; a message
delivered again changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Collection

from v2v_events.contracts.holds import HoldItemKind, HoldPlaced, HoldReleased

from .holds import ActiveHold, ItemHolds, holds_stream
from .uow import UnitOfWork

log = logging.getLogger("v2v.holds")


async def keep_hold(
    uow: UnitOfWork, msg: HoldPlaced | HoldReleased, kinds: Collection[HoldItemKind]
) -> bool:
    """Record the placement or release if it is of a kind this service enforces; whether it
    was news."""
    if msg.item_kind not in kinds:
        return False
    repo = uow.repository(ItemHolds)
    stream = holds_stream(msg.item_kind.value, msg.item_id)
    holds = await repo.find(stream) or ItemHolds(stream)
    now = uow.clock.now()
    if isinstance(msg, HoldPlaced):
        new = holds.keep(
            msg.hold_id,
            deviation_id=msg.deviation_id,
            reason=msg.reason,
            placed_at=msg.placed_at,
            now=now,
        )
        by = msg.placed_by
    else:
        new = holds.lift(msg.hold_id, reason=msg.reason, released_at=msg.released_at, now=now)
        by = msg.released_by
    if new:
        await repo.save(holds, {"user_id": by.user_id, "role": by.role})
        log.info(
            "hold recorded",
            extra={
                "hold_id": msg.hold_id,
                "item_kind": msg.item_kind.value,
                "event": type(msg).__name__,
            },
        )
    return new


async def holds_on(uow: UnitOfWork, *items: tuple[HoldItemKind, str | None]) -> list[ActiveHold]:
    """The holds placed and not released on any of ``items`` (an id None is skipped)."""
    repo = uow.repository(ItemHolds)
    found: list[ActiveHold] = []
    for kind, item_id in items:
        if item_id is None:
            continue
        holds = await repo.find(holds_stream(kind.value, item_id))
        if holds is not None:
            found.extend(holds.active)
    return found
