"""The holds read model (qc_holds): projected from the Hold's events, and its queries
(GET /holds, a lot's active holds before QA releases it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.authz import Caller
from v2v_runtime.domain import DomainEvent

from ...application.hold_views import HoldView
from ...domain.hold import HoldKind, HoldPlaced, HoldReleased, HoldState
from .tables import holds


async def project_hold(session: AsyncSession, event: DomainEvent) -> bool:
    """Project a hold's event (False: not one)."""
    match event:
        case HoldPlaced():
            await session.execute(
                insert(holds).values(
                    hold_id=event.hold_id,
                    item_kind=event.item_kind.value,
                    item_id=event.item_id,
                    coi=event.coi,
                    site=event.site,
                    deviation_id=event.deviation_id,
                    reason=event.reason,
                    state=HoldState.PLACED.value,
                    placed_at=event.placed_at,
                    placed_by=event.placed_by.model_dump(),
                )
            )
        case HoldReleased():
            await session.execute(
                update(holds)
                .where(holds.c.hold_id == event.hold_id)
                .values(
                    state=HoldState.RELEASED.value,
                    released_at=event.released_at,
                    released_by=event.released_by.model_dump(),
                    release_reason=event.reason,
                )
            )
        case _:
            return False
    return True


def _view(row: Any) -> HoldView:
    return HoldView.model_validate(dict(row._mapping))


def _visible(query: Select[Any], caller: Caller) -> Select[Any]:
    """A hold belongs to its site; one without a site only to callers of every site."""
    if caller.sees_all_sites:
        return query
    return query.where(holds.c.site.in_(sorted(caller.principal.sites)))


async def hold_view(session: AsyncSession, hold_id: str, caller: Caller) -> HoldView | None:
    query = _visible(select(holds).where(holds.c.hold_id == hold_id), caller)
    row = (await session.execute(query)).first()
    return None if row is None else _view(row)


async def find_holds(
    session: AsyncSession,
    caller: Caller,
    *,
    kind: HoldKind | None = None,
    item_id: str | None = None,
    deviation_id: str | None = None,
    state: HoldState | None = None,
    limit: int = 200,
) -> list[HoldView]:
    query = select(holds)
    if kind is not None:
        query = query.where(holds.c.item_kind == kind.value)
    if item_id is not None:
        query = query.where(holds.c.item_id == item_id)
    if deviation_id is not None:
        query = query.where(holds.c.deviation_id == deviation_id)
    if state is not None:
        query = query.where(holds.c.state == state.value)
    query = _visible(query, caller).order_by(holds.c.placed_at, holds.c.hold_id).limit(limit)
    return [_view(r) for r in await session.execute(query)]


class SqlActiveHolds:
    """Adapter of application.ports.ActiveHolds over qc_holds."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def on(self, kind: HoldKind, item_id: str) -> list[tuple[str, str | None]]:
        rows = await self._session.execute(
            select(holds.c.hold_id, holds.c.deviation_id)
            .where(
                holds.c.item_kind == kind.value,
                holds.c.item_id == item_id,
                holds.c.state == HoldState.PLACED.value,
            )
            .order_by(holds.c.hold_id)
        )
        return [(str(r.hold_id), r.deviation_id) for r in rows]
