"""Queries on the room register and environmental monitoring read models: results with
their alert-trend flags (computed as they are read, from each room's samples in the order
they were taken), a room's newest samples, and the excursions of the rooms a batch's steps
were done in, over each step's time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ...application.em_views import (
    EmCorrection,
    EmResultView,
    LimitsView,
    RoomView,
    TrendRuleView,
)
from ...application.execution_views import Who
from ...domain.em_limits import EXCEEDS_ALERT, AppliedLimit, Level, TrendRule
from ...domain.em_trend import Sample, alert_trends
from .em_tables import em_results, rooms

EXCURSION_LEVELS = sorted(level.value for level in EXCEEDS_ALERT)


def _room(r: Any) -> RoomView:
    return RoomView(
        room_id=r.room_id,
        name=r.name,
        grade=r.grade,
        site=r.site,
        registered_at=r.registered_at,
        registered_by=r.registered_by_user,
    )


async def rooms_list(session: AsyncSession) -> list[RoomView]:
    rows = await session.execute(select(rooms).order_by(rooms.c.site, rooms.c.room_id))
    return [_room(r) for r in rows]


async def room(session: AsyncSession, room_id: str) -> RoomView | None:
    r = (await session.execute(select(rooms).where(rooms.c.room_id == room_id))).first()
    return None if r is None else _room(r)


def _view(r: Any, flagged: set[str]) -> EmResultView:
    limit = AppliedLimit.model_validate(r.applied_limit)
    return EmResultView(
        result_id=r.result_id,
        room_id=r.room_id,
        site=r.site,
        grade=r.grade,
        sample_type=r.sample_type,
        sample_id=r.sample_id,
        location=r.location,
        sampled_at=r.sampled_at,
        read_at=r.read_at,
        occupancy=r.occupancy,
        value=r.value,
        unit=r.unit,
        level=r.level,
        limits=LimitsView(**limit.model_dump(), text=limit.text(r.unit)),
        edition=r.edition,
        config_version=r.config_version,
        trend_rule=TrendRuleView(alerts=r.trend_alerts, samples=r.trend_samples),
        alert_trend=r.result_id in flagged,
        impact_from=r.impact_from,
        impact_to=r.impact_to,
        comment=r.comment,
        recorded_at=r.recorded_at,
        recorded_by=Who(user_id=r.recorded_by_user, role=r.recorded_by_role),
        late=r.late,
        changed_after_entry=bool(r.corrections),
        corrections=[
            EmCorrection(
                **{k: v for k, v in c.items() if not k.startswith("corrected_by")},
                corrected_by=Who(user_id=c["corrected_by_user"], role=c["corrected_by_role"]),
            )
            for c in r.corrections
        ],
    )


def _sample(r: Any) -> Sample:
    rule = TrendRule(alerts=r.trend_alerts, samples=r.trend_samples)
    return Sample(result_id=r.result_id, level=Level(r.level), rule=rule)


def _series(room_id: str, sample_type: str) -> Select[Any]:
    return select(em_results).where(
        em_results.c.room_id == room_id, em_results.c.sample_type == sample_type
    )


def _before(r: Any) -> Any:
    c = em_results.c
    return or_(
        c.sampled_at < r.sampled_at, and_(c.sampled_at == r.sampled_at, c.position < r.position)
    )


async def _flagged(session: AsyncSession, rows: Sequence[Any]) -> set[str]:
    """The results of ``rows`` that complete an alert trend: each (room, sample type)'s
    samples from the first of ``rows`` to the last, after the ones just before them that
    the trend rules look back on."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        groups.setdefault((r.room_id, r.sample_type), []).append(r)
    flagged: set[str] = set()
    c = em_results.c
    for (room_id, sample_type), group in groups.items():
        if not any(Level(r.level) in EXCEEDS_ALERT for r in group):
            continue
        order = [c.sampled_at, c.position]
        first = min(group, key=lambda r: (r.sampled_at, r.position))
        last = max(group, key=lambda r: (r.sampled_at, r.position))
        look_back = max(r.trend_samples for r in group) - 1
        before = await session.execute(
            _series(room_id, sample_type)
            .where(_before(first))
            .order_by(*(o.desc() for o in order))
            .limit(look_back)
        )
        span = await session.execute(
            _series(room_id, sample_type)
            .where(~_before(first), or_(_before(last), c.result_id == last.result_id))
            .order_by(*order)
        )
        series = [*reversed(before.all()), *span.all()]
        flagged |= alert_trends([_sample(r) for r in series])
    return flagged


async def _views(session: AsyncSession, rows: Sequence[Any]) -> list[EmResultView]:
    flagged = await _flagged(session, rows)
    return [_view(r, flagged) for r in rows]


async def results(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    room_id: str | None = None,
    sample_type: str | None = None,
    level: str | None = None,
) -> list[EmResultView]:
    """Results sampled in ``start`` .. ``end`` (of a room, a sample type, a level), in the
    order they were sampled."""
    c = em_results.c
    query = select(em_results).where(c.sampled_at >= start, c.sampled_at <= end)
    if room_id is not None:
        query = query.where(c.room_id == room_id)
    if sample_type is not None:
        query = query.where(c.sample_type == sample_type)
    rows = (await session.execute(query.order_by(c.sampled_at, c.position))).all()
    shown = await _views(session, rows)
    return [v for v in shown if level is None or v.level == level]


async def result_room(session: AsyncSession, result_id: str) -> tuple[str, str] | None:
    """(room id, site) of a result."""
    c = em_results.c
    r = (await session.execute(select(c.room_id, c.site).where(c.result_id == result_id))).first()
    return None if r is None else (r.room_id, r.site)


async def result(session: AsyncSession, result_id: str) -> EmResultView:
    r = (await session.execute(select(em_results).where(em_results.c.result_id == result_id))).one()
    return (await _views(session, [r]))[0]


async def newest(
    session: AsyncSession, room_id: str, sample_type: str, count: int
) -> list[EmResultView]:
    """The newest ``count`` samples of a room and sample type, oldest first."""
    c = em_results.c
    rows = await session.execute(
        _series(room_id, sample_type).order_by(c.sampled_at.desc(), c.position.desc()).limit(count)
    )
    return await _views(session, list(reversed(rows.all())))


async def sample_types_of(session: AsyncSession, room_id: str) -> list[str]:
    c = em_results.c
    found = await session.execute(
        select(c.sample_type).where(c.room_id == room_id).distinct().order_by(c.sample_type)
    )
    return list(found.scalars())


StepWindow = tuple[str, str, datetime, datetime]  # step id, room, started, ended


async def excursions(
    session: AsyncSession, site: str, steps: Iterable[StepWindow]
) -> dict[str, list[EmResultView]]:
    """Per step: the alert and action results of its room (a registered room of ``site``)
    whose impact window overlaps the step's start to end — read now, so a plate read days
    after the step shows too."""
    c = em_results.c
    shown: dict[str, list[EmResultView]] = {}
    for step_id, room_id, started, ended in steps:
        rows = (
            await session.execute(
                select(em_results)
                .where(
                    c.room_id == room_id,
                    c.site == site,
                    c.level.in_(EXCURSION_LEVELS),
                    c.impact_from <= ended,
                    c.impact_to >= started,
                )
                .order_by(c.sampled_at, c.position)
            )
        ).all()
        if rows:
            shown[step_id] = await _views(session, rows)
    return shown
