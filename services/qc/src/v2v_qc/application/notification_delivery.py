"""The delivery loop's work: escalate what waited too long unacknowledged, then deliver what
is due, recording each attempt and its outcome.

Guarantee: at least once. An attempt is sent first and recorded after, in its own
transaction; a crash in between sends it again after the restart (it is still due in the
database). Each attempt carries a key (notification id, level, recipient, attempt number:
the ``Message-ID`` of an e-mail, the ``V2V-Delivery-Id`` header of a webhook call) by which
a receiver drops a repeat. Work is found in the database, so a restart loses none of it.
Run one loop per service database (it runs beside the outbox relay)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from v2v_runtime.eventstore import ConcurrencyError
from v2v_runtime.uow import UnitOfWork

from ..domain.common import SYSTEM_ROLE, Who
from ..domain.notification import Delivery, Notification
from ..domain.notification_routing import Recipient, Routing
from .ports import NotificationQueue

log = logging.getLogger("v2v.qc.notifications")

DELIVERER = Who(user_id="qc-notifier", role=SYSTEM_ROLE)


@dataclass(frozen=True)
class Outgoing:
    """One attempt's message: ``key`` identifies the attempt (receivers de-duplicate)."""

    notification_id: str
    key: str
    subject: str
    body: str
    payload: dict[str, Any]


class Channels(Protocol):
    async def send(self, recipient: Recipient, message: Outgoing) -> tuple[bool, str]:
        """Deliver; (sent, detail). A failure is returned, never raised."""
        ...


def outgoing(n: Notification, d: Delivery) -> Outgoing:
    info = n.info
    level = n.levels[d.level]
    return Outgoing(
        notification_id=info.notification_id,
        key=f"{info.notification_id}.{d.key}",
        subject=info.subject if d.level == 0 else f"[escalated to {level.role}] {info.subject}",
        body=info.body,
        payload={
            "notification_id": info.notification_id,
            "delivery_id": f"{info.notification_id}.{d.key}",
            "trigger": info.trigger.value,
            "deviation_id": info.deviation_id,
            "coi": info.coi,
            "site": info.site,
            "subject": info.subject,
            "body": info.body,
            "level": d.level,
            "role": level.role,
            "reason": d.recipient.reason,
            "must_acknowledge": bool(info.chain),
            "acknowledge_by": None
            if level.acknowledge_by is None
            else level.acknowledge_by.isoformat(),
        },
    )


class NotificationDelivery:
    def __init__(
        self, uows: Callable[[], UnitOfWork], channels: Channels, routing: Routing
    ) -> None:
        self._uows = uows
        self._channels = channels
        self._routing = routing

    async def run_once(self, limit: int = 100) -> int:
        """Work on every notification due now; returns the attempts and escalations made."""
        async with self._uows() as uow:
            due = await uow.port(NotificationQueue).due(uow.clock.now(), limit)
        done = 0
        for stream_id in due:
            try:
                done += await self._work_on(stream_id)
            except ConcurrencyError:  # acknowledged meanwhile: the next round sees it
                log.info("notification %s changed while worked on; retried next round", stream_id)
        return done

    async def _work_on(self, stream_id: str) -> int:
        async with self._uows() as uow:
            repo = uow.repository(Notification)
            n = await repo.get(stream_id)
            escalated = n.escalate_if_due(uow.clock.now(), self._routing) is not None
            await repo.save(n, DELIVERER.model_dump())
            due = n.deliveries_due(uow.clock.now())
        done = int(escalated)
        for d in due:
            sent, detail = await self._channels.send(d.recipient, outgoing(n, d))
            async with self._uows() as uow:
                repo = uow.repository(Notification)
                n = await repo.get(stream_id)
                current = n.delivery(d.level, d.index)
                if current.attempts != d.attempts:
                    continue  # recorded by another loop already
                n.record_attempt(current, sent, detail, uow.clock.now(), self._routing.retry)
                await repo.save(n, DELIVERER.model_dump())
            done += 1
        return done
