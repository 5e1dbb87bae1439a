"""The notifications a deviation raises: when it is opened, an informational one to the
people on it (its opener) and the site's QA; when it is opened critical, or classified
critical by QA, one that must be acknowledged (the escalation chain of "critical"), told
also to the coordinator of the patient's own treatment center when the routing lists it.

The message names the deviation, its class and source, lot, CoI and site: never the free
text of its description (it may name a patient)."""

from __future__ import annotations

from v2v_runtime.authz import Roles
from v2v_runtime.uow import UnitOfWork

from ..domain.common import SYSTEM_ROLE, Who
from ..domain.deviation import Deviation
from ..domain.events import Classification
from ..domain.notification import Notification
from ..domain.notification_events import Trigger
from .notify import Notice, notify
from .patient_center import treatment_center
from .ports import NotificationDirectory

CRITICAL = Classification.CRITICAL.value


async def site_of(uow: UnitOfWork, deviation: Deviation) -> str | None:
    info = deviation.info
    if info.site is not None or info.lot_id is None:
        return info.site
    return await uow.port(NotificationDirectory).lot_site(info.lot_id)


def body(deviation: Deviation, site: str | None, what: str) -> str:
    info = deviation.info
    lines = [
        what,
        "",
        f"Deviation: {deviation.id}",
        f"Class: {deviation.classification.value}",
        f"State: {deviation.state.value}",
        f"Source: {info.source}",
        f"Site: {site or 'not known'}",
        f"Lot: {', '.join(deviation.lots) or 'none yet'}",
        f"CoI: {info.coi or 'none (on batches)'}",
        f"Opened: {info.opened_at.isoformat()} by {info.opened_by.user_id}",
        f"See GET /deviations/{deviation.id}",
    ]
    return "\n".join(lines)


def _people(deviation: Deviation) -> tuple[tuple[str, str], ...]:
    opener = deviation.info.opened_by
    return () if opener.role == SYSTEM_ROLE else ((opener.user_id, "opened the deviation"),)


async def deviation_opened(uow: UnitOfWork, deviation: Deviation) -> list[Notification]:
    """Told when it opens: informational; and, opened critical, the acknowledged one."""
    site = await site_of(uow, deviation)
    kind = deviation.classification.value
    info = deviation.info
    if deviation.classification is Classification.CRITICAL:
        return [await _critical(uow, deviation, site, info.opened_by, "opened critical")]
    notice = Notice(
        trigger=Trigger.DEVIATION_OPENED,
        subject=f"[vein2vein] deviation {deviation.id} opened ({kind}, {info.source})",
        body=body(deviation, site, f"A {kind} deviation was opened."),
        site=site,
        people=_people(deviation),
        deviation_id=deviation.id,
        coi=info.coi,
    )
    return [await notify(uow, notice, info.opened_by)]


async def deviation_classified(
    uow: UnitOfWork, deviation: Deviation, previous: Classification, by: Who
) -> list[Notification]:
    """Classified critical from another class: the acknowledged notification."""
    if (
        deviation.classification is not Classification.CRITICAL
        or previous is Classification.CRITICAL
    ):
        return []
    site = await site_of(uow, deviation)
    return [
        await _critical(uow, deviation, site, by, f"classified critical (was {previous.value})")
    ]


async def _critical(
    uow: UnitOfWork, deviation: Deviation, site: str | None, by: Who, what: str
) -> Notification:
    info = deviation.info
    notice = Notice(
        trigger=Trigger.DEVIATION_CRITICAL,
        subject=f"[vein2vein] CRITICAL deviation {deviation.id} ({info.source}): acknowledge",
        body=body(deviation, site, f"A deviation was {what}. Acknowledge this notification."),
        site=site,
        people=_people(deviation),
        # the patient's own center too, when the routing lists it (custody's enrolment)
        center=await treatment_center(uow, info.coi),
        center_roles=(Roles.TREATMENT_CENTER_COORDINATOR,),
        escalation=CRITICAL,
        deviation_id=deviation.id,
        coi=info.coi,
    )
    return await notify(uow, notice, by)
