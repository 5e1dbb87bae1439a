"""A recovery decision overdue: the journey waits for people after a lot failed (OOS, QA's
rejection, a manufacturing failure) and never decides itself; each time its decision
deadline passes it says so (``treatment-center.notified``, deadline ``recovery-decision``).
QC, where the decision is taken, then tells the people who take it with a notification that
must be acknowledged — the escalation chain ``recovery-decision`` of the routing, else the
``critical`` one — so an unacknowledged reminder goes on to the next role (by default the
qualified person after QA). It opens no deviation: the missed deadline is people's, not a
GMP limit (policy/raised-deviations.json).

The message names the lot, the CoI and the site, never the patient."""

from __future__ import annotations

from v2v_events.contracts.journey import NotificationReason, TreatmentCenterNotified
from v2v_runtime.uow import UnitOfWork

from ..domain.common import JOURNEY
from ..domain.events import Classification
from ..domain.notification import Notification
from ..domain.notification_events import Trigger
from .notify import Notice, notify
from .ports import NotificationDirectory

RECOVERY_DECISION = "recovery-decision"  # the journey's name of the deadline (and the chain's)


async def notify_overdue_decision(
    uow: UnitOfWork, msg: TreatmentCenterNotified
) -> Notification | None:
    """The acknowledged reminder; None for any other notification of the journey."""
    missed = msg.reason is NotificationReason.DEADLINE_MISSED
    if not missed or msg.deadline != RECOVERY_DECISION:
        return None
    chains = uow.port(NotificationDirectory).routing().escalation
    chain = RECOVERY_DECISION if RECOVERY_DECISION in chains else Classification.CRITICAL.value
    lot = msg.lot_id or "(not named)"
    lines = [
        "The patient's journey is waiting for a recovery decision that is overdue.",
        f"Decide it, signed: POST /lots/{lot}/recovery-decision (remanufacture, "
        "new-collection, exceptional-release after OOS, or end-journey).",
        "",
        f"Lot: {lot}",
        f"CoI: {msg.coi}",
        f"Site: {msg.manufacturing_site or 'not known'}",
        f"Overdue since: {msg.notified_at.isoformat()}",
    ]
    notice = Notice(
        trigger=Trigger.RECOVERY_DECISION_OVERDUE,
        subject=f"[vein2vein] recovery decision on lot {lot} overdue: acknowledge",
        body="\n".join(lines),
        site=msg.manufacturing_site,
        escalation=chain,
        coi=msg.coi,
    )
    return await notify(uow, notice, JOURNEY)
