"""HTTP: notifications — the list (by deviation, by state), one with its levels, recipients
and every delivery's outcome, and the acknowledgement by a role it was sent to at its site."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.errors import NotFound
from v2v_runtime.http_deps import Kit, NewUow

from ...application.acknowledge import acknowledge_notification
from ...domain.common import Who
from ...domain.notification import Notification, NotificationState, notification_stream
from ...domain.notification_routing import Recipient
from ..db.notification_queries import listed, site_of
from .access import QUALITY_READERS

R = Roles
# Who may be on an escalation chain, or the treatment center told of a critical deviation.
ACKNOWLEDGERS = (
    R.QA_REVIEWER,
    R.QUALIFIED_PERSON,
    R.QC_REVIEWER,
    R.MANUFACTURING_SUPERVISOR,
    R.TREATMENT_CENTER_COORDINATOR,
)
NotificationReader = Annotated[Caller, allowed(*QUALITY_READERS, R.TREATMENT_CENTER_COORDINATOR)]
Acknowledger = Annotated[Caller, allowed(*ACKNOWLEDGERS)]


class NotificationSummary(BaseModel):
    notification_id: str
    trigger: str
    deviation_id: str | None
    coi: str | None
    site: str | None
    subject: str
    state: NotificationState
    must_acknowledge: bool
    chain: list[str]
    level: int
    role: str | None
    acknowledge_by: datetime | None
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: dict[str, Any] | None
    exhausted_at: datetime | None


class DeliveryView(BaseModel):
    level: int
    recipient: Recipient
    state: str
    attempts: int
    next_attempt_at: datetime | None
    detail: str


class LevelView(BaseModel):
    level: int
    role: str | None
    told_at: datetime
    acknowledge_by: datetime | None


class NotificationView(BaseModel):
    notification_id: str
    trigger: str
    deviation_id: str | None
    coi: str | None
    site: str | None
    subject: str
    body: str
    state: NotificationState
    chain: list[str]
    raised_at: datetime
    raised_by: Who
    levels: list[LevelView]
    deliveries: list[DeliveryView]
    acknowledged_at: datetime | None
    acknowledged_by: Who | None
    acknowledgement_note: str | None
    exhausted_at: datetime | None


class AcknowledgementEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, min_length=1, max_length=2000)


def view(n: Notification) -> NotificationView:
    info, ack = n.info, n.acknowledged
    return NotificationView(
        notification_id=info.notification_id,
        trigger=info.trigger.value,
        deviation_id=info.deviation_id,
        coi=info.coi,
        site=info.site,
        subject=info.subject,
        body=info.body,
        state=n.state,
        chain=info.chain,
        raised_at=info.raised_at,
        raised_by=info.raised_by,
        levels=[
            LevelView(
                level=lv.number,
                role=lv.role,
                told_at=lv.started_at,
                acknowledge_by=lv.acknowledge_by,
            )
            for lv in n.levels
        ],
        deliveries=[
            DeliveryView(
                level=d.level,
                recipient=d.recipient,
                state=d.state.value,
                attempts=d.attempts,
                next_attempt_at=d.due_at,
                detail=d.detail,
            )
            for d in n.deliveries
        ],
        acknowledged_at=None if ack is None else ack.acknowledged_at,
        acknowledged_by=None if ack is None else ack.acknowledged_by,
        acknowledgement_note=None if ack is None else ack.note,
        exhausted_at=None if n.exhausted is None else n.exhausted.exhausted_at,
    )


def _visible(caller: Caller, known: bool, site: str | None, notification_id: str) -> None:
    if not known or not (caller.may_see(site) if site else caller.sees_all_sites):
        raise NotFound("notification-not-found", f"no notification {notification_id!r}")


def notifications_router() -> APIRouter:
    router = APIRouter(tags=["notifications"])

    @router.get("/notifications")
    async def list_notifications(
        kit: Kit,
        caller: NotificationReader,
        deviation_id: str | None = None,
        state: NotificationState | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[NotificationSummary]:
        """Notifications of the caller's sites, newest first (by deviation, by state)."""
        async with kit.sessions() as session:
            rows = await listed(
                session,
                deviation_id=deviation_id,
                state=None if state is None else state.value,
                limit=limit,
            )
        return [
            NotificationSummary.model_validate(r)
            for r in rows
            if (caller.may_see(r["site"]) if r["site"] else caller.sees_all_sites)
        ]

    @router.get("/notifications/{notification_id}")
    async def get_notification(
        uow: NewUow, caller: NotificationReader, notification_id: str
    ) -> NotificationView:
        """The notification, its levels (who was told when), each delivery's outcome and
        its acknowledgement."""
        async with uow:
            _visible(caller, *await site_of(uow.session, notification_id), notification_id)
            n = await uow.repository(Notification).get(notification_stream(notification_id))
        return view(n)

    @router.post("/notifications/{notification_id}/acknowledgement")
    async def acknowledge(
        uow: NewUow,
        caller: Acknowledger,
        notification_id: str,
        entry: AcknowledgementEntry,
    ) -> NotificationView:
        """Acknowledged by someone of a role it was sent to so far, at its site (403 for
        others; 409 when acknowledged already or informational). Stops its escalation."""
        async with uow:
            known, site = await site_of(uow.session, notification_id)
            if not known:
                raise NotFound("notification-not-found", f"no notification {notification_id!r}")
            if site is not None:
                caller.require_site(site, "acknowledging a notification")
            elif not caller.sees_all_sites:
                caller.require_site("(no site)", "acknowledging a notification")
            n = await acknowledge_notification(
                uow, notification_id, caller.user_id, caller.principal.roles, entry.note
            )
        return view(n)

    return router
