"""HTTP: the room register and environmental monitoring (EU GMP Annex 1) — rooms and their
grades, results classified against the site's programme, corrections with a reason, a
room's alert trend now."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from v2v_events.contracts.common import BoundedDatetime
from v2v_runtime.authz import Caller, Forbidden, Roles, allowed
from v2v_runtime.errors import NotFound
from v2v_runtime.http_deps import NewUow
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ...application.correct_em_result import correct_em_result
from ...application.em_views import (
    EmResultView,
    RoomTrend,
    RoomView,
    SampleTypeTrend,
    TrendRuleView,
)
from ...application.record_em_result import EmResultEntry, record_em_result
from ...application.register_room import RoomEntry, register_room
from ...domain.em_limits import EmProgramme, Level, SampleKind
from ...domain.em_trend import Sample, trending_now
from ..db import em_queries as queries
from .em_schemas import EmCorrectionBody, EmResultBody, RoomBody
from .routes import Reader

R = Roles
# The supervisor or the quality unit keeps the room register.
RoomKeeper = Annotated[Caller, allowed(R.MANUFACTURING_SUPERVISOR, R.QA_REVIEWER)]
# QC analysts take and read the samples; the supervisor may enter particle counts.
Sampler = Annotated[Caller, allowed(R.QC_ANALYST, R.MANUFACTURING_SUPERVISOR)]
DEFAULT_SPAN = timedelta(days=31)
From = Annotated[BoundedDatetime | None, Query(alias="from", description="default: to - 31 days")]
To = Annotated[BoundedDatetime | None, Query(alias="to", description="default: now")]
Label = Annotated[str | None, Query(max_length=64)]


async def _room(uow: UnitOfWork, caller: Caller, room_id: str) -> RoomView:
    """404 for a room not in the register or of a site not the caller's."""
    found = await queries.room(uow.session, room_id)
    if found is None or not caller.may_see(found.site):
        raise NotFound("room-not-found", f"no room {room_id!r} in the register")
    return found


async def _result_room(uow: UnitOfWork, caller: Caller, result_id: str) -> str:
    found = await queries.result_room(uow.session, result_id)
    if found is None or not caller.may_see(found[1]):
        raise NotFound("em-result-not-found", f"no monitoring result {result_id!r}")
    return found[0]


def _may_record(caller: Caller, programme: EmProgramme, sample_type: str) -> None:
    """Viable samples are QC's to read: 403 for the supervisor (who enters particle counts)."""
    kind = programme.sample_type(sample_type).kind
    if caller.role == R.MANUFACTURING_SUPERVISOR and kind is SampleKind.VIABLE:
        raise Forbidden(
            "viable-results-by-qc",
            "viable samples are read and recorded by QC; the supervisor enters particle counts",
        )


def environment_router(programme: EmProgramme, reported_times: ReportedTimeWindow) -> APIRouter:
    router = APIRouter(tags=["environmental monitoring"])

    @router.post("/rooms", status_code=201, response_model=RoomView)
    async def register(body: RoomBody, caller: RoomKeeper, uow: NewUow) -> RoomView:
        """Put a clean room in the register with its EU GMP Annex 1 grade (409
        room-already-registered: room ids are unique across sites)."""
        caller.require_site(body.site, "registering a room")
        async with uow:
            await register_room(uow, RoomEntry(**body.model_dump()), caller.actor)
            return await _room(uow, caller, body.room_id)

    @router.get("/rooms", response_model=list[RoomView])
    async def list_rooms(caller: Reader, uow: NewUow, site: str | None = None) -> list[RoomView]:
        """The room register (of the caller's sites)."""
        async with uow:
            found = await queries.rooms_list(uow.session)
        return [r for r in found if caller.may_see(r.site) and site in (None, r.site)]

    @router.get("/rooms/{room_id}", response_model=RoomView)
    async def get_room(room_id: str, caller: Reader, uow: NewUow) -> RoomView:
        async with uow:
            return await _room(uow, caller, room_id)

    @router.get("/rooms/{room_id}/trend", response_model=RoomTrend)
    async def trend(room_id: str, caller: Reader, uow: NewUow) -> RoomTrend:
        """Each sample type's newest samples in the room under the programme's trend rule
        (``alerts`` above the alert limit in ``samples`` consecutive samples), and whether
        they make an alert trend now."""
        rule = programme.trend
        shown = []
        async with uow:
            found = await _room(uow, caller, room_id)
            for sample_type in await queries.sample_types_of(uow.session, room_id):
                recent = await queries.newest(uow.session, room_id, sample_type, rule.samples)
                samples = [Sample(v.result_id, Level(v.level), rule) for v in recent]
                alerts, trending = trending_now(samples, rule)
                shown.append(
                    SampleTypeTrend(
                        sample_type=sample_type,
                        rule=TrendRuleView(alerts=rule.alerts, samples=rule.samples),
                        recent=recent,
                        alerts=alerts,
                        trending=trending,
                    )
                )
        return RoomTrend(room=found, edition=programme.edition, sample_types=shown)

    @router.post("/environment/results", status_code=201, response_model=EmResultView)
    async def record(body: EmResultBody, caller: Sampler, uow: NewUow) -> EmResultView:
        """Record a monitoring result, classified against the programme: within, alert,
        action (an excursion: QC opens one deviation on the batches whose steps were done
        in the room within its impact window) or no-limit. 422 naming the field:
        room-unknown, sample-type-unknown, unit-mismatch, occupancy-required,
        read-before-sampling, sample-in-future / -too-old; 409 em-sample-already-recorded.
        Viable samples are QC's to read (403 viable-results-by-qc for the supervisor)."""
        _may_record(caller, programme, body.sample_type)
        async with uow:
            room = await queries.room(uow.session, body.room_id)
            if room is not None:
                caller.require_site(room.site, "recording a monitoring result")
            entry = EmResultEntry(**body.model_dump())
            result = await record_em_result(uow, entry, programme, reported_times, caller.actor)
            return await queries.result(uow.session, result.result_id)

    @router.get("/environment/results", response_model=list[EmResultView])
    async def list_results(
        caller: Reader,
        uow: NewUow,
        room: Label = None,
        start: From = None,
        end: To = None,
        sample_type: Label = None,
        level: Level | None = None,
    ) -> list[EmResultView]:
        """Results sampled from ``from`` to ``to`` (of a room, sample type, level), each
        with its classification and whether it completes an alert trend."""
        async with uow:
            if room is not None:
                await _room(uow, caller, room)
            until: datetime = end or uow.clock.now()
            found = await queries.results(
                uow.session,
                start=start or until - DEFAULT_SPAN,
                end=until,
                room_id=room,
                sample_type=sample_type,
                level=None if level is None else level.value,
            )
        return [r for r in found if caller.may_see(r.site)]

    @router.get("/environment/results/{result_id}", response_model=EmResultView)
    async def get_result(result_id: str, caller: Reader, uow: NewUow) -> EmResultView:
        async with uow:
            await _result_room(uow, caller, result_id)
            return await queries.result(uow.session, result_id)

    @router.post(
        "/environment/results/{result_id}/corrections",
        status_code=201,
        response_model=EmResultView,
    )
    async def correct(
        result_id: str, body: EmCorrectionBody, caller: Sampler, uow: NewUow
    ) -> EmResultView:
        """Correct a result's value with the reason: the old value is kept and shown; it is
        classified again against the limits it was recorded with (becoming an action
        excursion announces it; 409 em-result-unchanged for the same value)."""
        async with uow:
            room_id = await _result_room(uow, caller, result_id)
            shown = await queries.result(uow.session, result_id)
            _may_record(caller, programme, shown.sample_type)
            await correct_em_result(
                uow, room_id, result_id, body.value, body.unit, body.reason, caller.actor
            )
            return await queries.result(uow.session, result_id)

    return router
