"""HTTP: the SOP register and each person's qualifications (by their user id: the
identity provider's subject, as steps and signatures record them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from v2v_events.contracts.common import BoundedDatetime
from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.errors import NotFound
from v2v_runtime.http_deps import NewUow
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ...application.qualifications import qualified, training_record
from ...application.record_qualification import (
    QualificationEntry,
    grant_qualification,
    revoke_qualification,
)
from ...application.register_sop import SopVersionEntry, register_sop_version
from ...application.register_views import (
    QualificationView,
    QualifiedView,
    SopView,
    TrainingRecord,
)
from ...domain.training import QUALIFICATION_PATTERN
from ..db import equipment_queries as queries
from .register_schemas import QualificationBody, ReasonBody, SopVersionBody
from .routes import Reader

R = Roles
# Document control is the quality unit's: it registers versions, which take effect through
# change control (QC).
DocumentControl = Annotated[Caller, allowed(R.QA_REVIEWER)]
# A supervisor or the quality unit records training; never the person themself.
Trainer = Annotated[Caller, allowed(R.MANUFACTURING_SUPERVISOR, R.QA_REVIEWER)]
At = Annotated[BoundedDatetime | None, Query(description="default: now")]
# The identity provider's subject id (records name people by it); part of a stream id.
UserId = Annotated[str, Path(min_length=1, max_length=128)]


async def _sop(uow: UnitOfWork, document_id: str) -> SopView:
    found = await queries.sops(uow.session, uow.clock.now(), document_id)
    if not found:
        raise NotFound("sop-not-found", f"no SOP {document_id!r} in the register")
    return found[0]


async def _qualification(
    uow: UnitOfWork, user_id: str, qualification_id: str, at: datetime
) -> QualificationView:
    record = await training_record(uow, user_id, at)
    [shown] = [q for q in record.qualifications if q.qualification_id == qualification_id]
    return shown


def training_router(reported_times: ReportedTimeWindow) -> APIRouter:
    router = APIRouter(tags=["training"])

    @router.post("/sops", status_code=201, response_model=SopView)
    async def register_sop(body: SopVersionBody, caller: DocumentControl, uow: NewUow) -> SopView:
        """A new version of an SOP (409 sop-version-not-newer), registered pending: once a
        change control approved in QC names it, it is effective from effective_at, and
        training on it is due by training_due_at (no later), when training on the earlier
        versions lapses."""
        async with uow:
            await register_sop_version(uow, SopVersionEntry(**body.model_dump()), caller.actor)
            return await _sop(uow, body.document_id)

    @router.get("/sops", response_model=list[SopView])
    async def list_sops(caller: Reader, uow: NewUow) -> list[SopView]:
        async with uow:
            return await queries.sops(uow.session, uow.clock.now())

    @router.get("/sops/{document_id}", response_model=SopView)
    async def get_sop(document_id: str, caller: Reader, uow: NewUow) -> SopView:
        async with uow:
            return await _sop(uow, document_id)

    @router.post(
        "/people/{user_id}/qualifications", status_code=201, response_model=QualificationView
    )
    async def grant(
        user_id: UserId, body: QualificationBody, caller: Trainer, uow: NewUow
    ) -> QualificationView:
        """Record a qualification of the person (403 self-qualification for one's own):
        training on an SOP version (kind sop, document_id and sop_version), a practical
        qualification (kind practical, its code), gowning, or an aseptic process
        simulation (valid a year at most)."""
        async with uow:
            entry = QualificationEntry(**body.model_dump())
            granted = await grant_qualification(uow, user_id, entry, reported_times, caller.actor)
            return await _qualification(uow, user_id, granted.qualification_id, uow.clock.now())

    @router.post(
        "/people/{user_id}/qualifications/{qualification_id}/revocation",
        response_model=QualificationView,
    )
    async def revoke(
        user_id: UserId,
        qualification_id: str,
        body: ReasonBody,
        caller: Trainer,
        uow: NewUow,
    ) -> QualificationView:
        """Revoke a qualification from now on (409 qualification-revoked)."""
        async with uow:
            await revoke_qualification(uow, user_id, qualification_id, body.reason, caller.actor)
            return await _qualification(uow, user_id, qualification_id, uow.clock.now())

    @router.get("/people/{user_id}/qualifications", response_model=TrainingRecord)
    async def record(user_id: UserId, caller: Reader, uow: NewUow, at: At = None) -> TrainingRecord:
        """The person's qualifications, each with whether it holds at ``at`` and why not."""
        async with uow:
            return await training_record(uow, user_id, at or uow.clock.now())

    @router.get("/people/{user_id}/qualified", response_model=QualifiedView)
    async def check(
        user_id: UserId,
        caller: Reader,
        uow: NewUow,
        qualification: Annotated[str, Query(pattern=QUALIFICATION_PATTERN)],
        at: At = None,
    ) -> QualifiedView:
        """Whether the person is qualified for ``qualification`` at ``at`` (the check a
        step makes; acting unqualified is refused with 403 not-qualified)."""
        async with uow:
            return await qualified(uow, user_id, qualification, at or uow.clock.now())

    return router
