"""``GET /audit-trail``: every service's audit trail for inspectors, mounted by the service kit
from the service's ``AuditTrailSpec`` (its scope port, its supervisors, and — custody — how
identity records are disclosed).

Filters: ``coi``, ``record`` (a stream id), ``user`` (user id), ``from``/``to`` (record
time), ``type`` (event type, with or without the ``<service>.`` prefix); paging by position
(``after``, ``limit``); ``format=json|csv`` or ``Accept: text/csv``. The response carries the
hash-chain verification of every record it shows. A caller sees the CoIs of their sites
only; identity values are "[identity]" unless the caller may read identity, and each such
read is recorded by the service (custody's ``IdentityViewed``).

No ``from __future__ import annotations`` here: the route's role declaration is made in
``audit_trail_router`` (per service), and FastAPI must see it as an object, not a name."""

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from v2v_events.bounds import ID_MAX, MAX_INSTANT, MIN_INSTANT

from .audit import verify_stream
from .audit_trail import (
    TrailEntry,
    TrailHead,
    TrailPage,
    entry_of,
    redacted,
    to_csv,
    verification_of,
)
from .audit_trail_query import (
    AuditScope,
    AuditTrailSpec,
    IdentityDisclosure,
    StreamScope,
    TrailFilter,
    read_page,
)
from .authz import Caller, allowed
from .domain import DomainEvent
from .errors import DomainError
from .eventstore import StoredEvent
from .http_deps import NewUow
from .trail_heads import coi_head
from .uow import UnitOfWork

log = logging.getLogger("v2v.audit_trail")

MAX_LIMIT = 5000
POSITION_MAX = 2**63 - 1
CSV = "text/csv"


def audit_trail_router(service: str, spec: AuditTrailSpec) -> APIRouter:
    router = APIRouter(tags=["audit trail"])
    Reader = Annotated[Caller, allowed(*spec.readers, pii=spec.identity is not None)]

    @router.get(
        "/audit-trail",
        response_model=TrailPage,
        responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}},
    )
    async def audit_trail(
        request: Request,
        response: Response,
        caller: Reader,
        uow: NewUow,
        coi: Annotated[str | None, Query(min_length=1, max_length=ID_MAX)] = None,
        record: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        user: Annotated[str | None, Query(min_length=1, max_length=ID_MAX)] = None,
        recorded_from: Annotated[AwareDatetime | None, Query(alias="from")] = None,
        recorded_to: Annotated[AwareDatetime | None, Query(alias="to")] = None,
        event_type: Annotated[str | None, Query(alias="type", min_length=1, max_length=200)] = None,
        after: Annotated[int, Query(ge=0, le=POSITION_MAX)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 500,
        format: Literal["json", "csv"] | None = None,
    ) -> Any:
        """Who did what, when and why — with old -> new values, observed times, late
        entries — and the hash-chain verification of the records shown (JSON or CSV)."""
        _check_range(recorded_from, recorded_to)
        if event_type is not None and not event_type.startswith((f"{service}.", "v2v.")):
            event_type = f"{service}.{event_type}"
        async with uow:
            port = spec.scope(uow.session)
            streams = await _streams(port, coi, record)
            where = TrailFilter(streams, user, event_type, recorded_from, recorded_to)

            def visible(scope: StreamScope | None) -> bool:
                if caller.sees_all_sites:
                    return True
                return scope is not None and caller.may_see(*scope.sites)

            page = await read_page(
                uow.session, port, where, after=after, limit=limit, visible=visible
            )
            entries = [
                entry_of(ev, _decoded(uow, ev), _coi_of(page.scopes.get(ev.stream_id)))
                for ev in page.events
            ]
            entries = await _disclose(uow, spec.identity, caller, entries)
            checked = []
            for sid in dict.fromkeys(e.record for e in entries):
                count, findings = await verify_stream(uow.session, sid)
                checked.append((sid, count, findings))
            head = None
            if coi is not None and streams and (entries or caller.sees_all_sites):
                found = await coi_head(uow.session, streams)
                if found is not None:
                    head = TrailHead(service=service, coi=coi, position=found[0], hash=found[1])
        trail = TrailPage(
            service=service,
            entries=entries,
            verification=verification_of(checked),
            next_after=page.next_after,
            head=head,
        )
        headers: dict[str, str] = {"X-V2V-Chain": trail.verification.status}
        if trail.next_after is not None:
            headers["X-V2V-Next-After"] = str(trail.next_after)
        if format == "csv" or (format is None and CSV in request.headers.get("accept", "")):
            headers["Content-Disposition"] = f'attachment; filename="audit-trail-{service}.csv"'
            return Response(to_csv(trail), media_type=f"{CSV}; charset=utf-8", headers=headers)
        response.headers.update(headers)
        return trail

    return router


def _check_range(start: datetime | None, end: datetime | None) -> None:
    for name, value in (("from", start), ("to", end)):
        if value is not None and not MIN_INSTANT <= value <= MAX_INSTANT:
            raise DomainError(
                "time-out-of-range",
                f"{name} must lie between {MIN_INSTANT.isoformat()} and {MAX_INSTANT.isoformat()}",
                field=name,
            )
    if start is not None and end is not None and start > end:
        raise DomainError("time-range-reversed", "from lies after to", field="from")


async def _streams(port: AuditScope, coi: str | None, record: str | None) -> frozenset[str] | None:
    if coi is None:
        return None if record is None else frozenset({record})
    streams = frozenset(await port.streams_of(coi))
    return streams if record is None else streams & {record}


def _coi_of(scope: StreamScope | None) -> str | None:
    return None if scope is None else scope.coi


def _decoded(uow: UnitOfWork, stored: StoredEvent) -> DomainEvent | None:
    codec = None if uow.persistence is None else uow.persistence.codec
    if codec is None or not codec.knows(stored.event_type):
        return None
    try:
        return codec.decode(stored)
    except Exception:  # an altered row may no longer decode: shown as stored, chain says why
        return None


async def _disclose(
    uow: UnitOfWork,
    identity: IdentityDisclosure | None,
    caller: Caller,
    entries: list[TrailEntry],
) -> list[TrailEntry]:
    """Identity values for callers who may read them (each read recorded), else redacted."""
    if identity is None:
        return entries
    shown: list[TrailEntry] = []
    read: set[str] = set()
    for e in entries:
        if not identity.holds_identity(e.record):
            shown.append(e)
        elif caller.reads_identity:
            shown.append(e)
            if e.coi is not None:
                read.add(e.coi)
        else:
            shown.append(redacted(e))
    for coi in sorted(read):
        await identity.note_read(uow, coi, caller.who)
        # Who looked at patient-identifying data (never the data itself).
        log.info("patient identity read", extra={"coi": coi, "user_id": caller.user_id})
    return shown
