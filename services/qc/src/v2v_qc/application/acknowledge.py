"""A recipient acknowledges a notification: its escalation stops."""

from __future__ import annotations

from collections.abc import Collection

from v2v_runtime.uow import UnitOfWork

from ..domain.common import Who
from ..domain.notification import Notification, notification_stream


async def acknowledge_notification(
    uow: UnitOfWork,
    notification_id: str,
    user_id: str,
    roles: Collection[str],
    note: str | None,
) -> Notification:
    """By ``user_id`` holding ``roles`` (recorded in the first role it was sent to that they
    hold); the caller checked the site."""
    repo = uow.repository(Notification)
    n = await repo.get(notification_stream(notification_id))
    held = frozenset(roles)
    role = next((r for r in n.roles_told if r in held), next(iter(sorted(held)), "unknown"))
    by = Who(user_id=user_id, role=role)
    n.acknowledge(by, held, uow.clock.now(), note)
    await repo.save(n, by.model_dump())
    return n
