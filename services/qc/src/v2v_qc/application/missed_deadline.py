"""A journey deadline missed (the journey's ``treatment-center.notified``, reason
``deadline-missed`` or ``apheresis-late``, naming the ``deadline``) opens one deviation on
the chain of identity when the policy names that deadline — a GMP one: the apheresis
stability window, the in-plant time, QC results, the QA decision, delivery, infusion before
expiry; a collection that cannot be scheduled or a decision people still owe opens none.

One per missed deadline: its id follows from the CoI, the deadline and the time the journey
notified it (a notification published again is the same). The lot it names, when QC knows
it, is linked. Seen at the patient's manufacturing site."""

from __future__ import annotations

from v2v_events.bounds import clip
from v2v_events.contracts.journey import NotificationReason, TreatmentCenterNotified
from v2v_runtime.uow import UnitOfWork

from ..domain.common import JOURNEY
from ..domain.deviation import DEADLINE_SOURCE, Deviation
from ..domain.raising import RaisingPolicy
from .deviations_on_chain import Occurrence, occurrence_id, open_on_chain

MISSED = frozenset({NotificationReason.DEADLINE_MISSED, NotificationReason.APHERESIS_LATE})


def deviation_id_of(msg: TreatmentCenterNotified) -> str:
    assert msg.deadline is not None
    return occurrence_id(DEADLINE_SOURCE, msg.coi, msg.deadline, msg.notified_at.isoformat())


def description(msg: TreatmentCenterNotified) -> str:
    lot = f" (lot {msg.lot_id})" if msg.lot_id else ""
    return clip(
        f"The journey of {msg.coi} missed its {msg.deadline} deadline{lot}: {msg.detail}. "
        f"The journey notified {msg.treatment_center} on {msg.notified_at.isoformat()}."
    )


async def open_for_missed_deadline(
    uow: UnitOfWork, msg: TreatmentCenterNotified, policy: RaisingPolicy
) -> Deviation | None:
    """The deviation of this missed deadline (None: not a GMP deadline of the policy, or
    opened already)."""
    if msg.reason not in MISSED or msg.deadline is None:
        return None
    classification = policy.missed_deadlines.get(msg.deadline)
    if classification is None:
        return None
    occurrence = Occurrence(
        deviation_id=deviation_id_of(msg),
        coi=msg.coi,
        source=DEADLINE_SOURCE,
        classification=classification,
        description=description(msg),
        site=msg.manufacturing_site,
        lot_ids=[msg.lot_id] if msg.lot_id else [],
    )
    return await open_on_chain(uow, occurrence, JOURNEY)
