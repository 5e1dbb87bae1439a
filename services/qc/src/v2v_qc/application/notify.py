"""The one way any part of QC notifies people: ``notify(uow, notice, by)`` records a
``Notification`` in the caller's transaction — its recipients routed now from the site's
routing — and the delivery loop (notification_delivery.py) delivers it after the commit.
Nothing is sent inside the transaction: a rolled-back act notifies nobody.

Messages carry identifiers (deviation id, CoI, lot, site), never patient-identifying data
nor free text people typed (which might hold some)."""

from __future__ import annotations

from dataclasses import dataclass

from v2v_runtime.uow import UnitOfWork

from ..domain.common import Who
from ..domain.notification import Notification
from ..domain.notification_events import Trigger
from ..domain.notification_routing import Recipient, distinct
from .ports import NotificationDirectory


@dataclass(frozen=True)
class Notice:
    """What to tell whom: ``escalation`` names the class whose chain must acknowledge it
    (e.g. "critical"; None: informational, told to the site's informed roles);
    ``people``: (user id, why) of the people on the matter; ``roles``: further roles of
    the site told besides (their on-call targets in the routing)."""

    trigger: Trigger
    subject: str
    body: str
    site: str | None
    people: tuple[tuple[str, str], ...] = ()
    roles: tuple[str, ...] = ()  # further roles of the site told (e.g. treating-physician)
    # the patient's treatment center (a site of the routing) and its roles told besides
    center: str | None = None
    center_roles: tuple[str, ...] = ()
    escalation: str | None = None
    deviation_id: str | None = None
    coi: str | None = None


async def notify(uow: UnitOfWork, notice: Notice, by: Who) -> Notification:
    routing = uow.port(NotificationDirectory).routing()
    notification_id = uow.ids.new_id()
    people = [r for user, why in notice.people for r in routing.person(user, why)]
    people += [r for role in notice.roles for r in routing.role_at(role, notice.site)]
    people += [r for role in notice.center_roles for r in routing.role_at(role, notice.center)]
    escalation = None if notice.escalation is None else routing.escalation.get(notice.escalation)
    recipients: list[Recipient]
    if escalation is not None:
        recipients = [
            *routing.role_at(escalation.chain[0], notice.site),
            *routing.treatment_center_of(notice.site),
            *people,
        ]
    else:
        informed = [
            r for role in routing.informed_roles for r in routing.role_at(role, notice.site)
        ]
        recipients = [*people, *informed]
    footer = f"\n\nNotification {notification_id}" + (
        f": acknowledge it (POST /notifications/{notification_id}/acknowledgement)"
        if escalation is not None
        else " (informational: no acknowledgement needed)"
    )
    notification = Notification.raise_(
        notification_id,
        trigger=notice.trigger,
        subject=notice.subject,
        body=notice.body + footer,
        recipients=distinct(recipients),
        by=by,
        at=uow.clock.now(),
        chain=None if escalation is None else escalation.chain,
        window=None if escalation is None else escalation.window,
        deviation_id=notice.deviation_id,
        coi=notice.coi,
        site=notice.site,
    )
    await uow.repository(Notification).save(notification, by.model_dump())
    return notification
