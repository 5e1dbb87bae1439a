"""A deviation's lifecycle as public events (v2v_events.contracts.qc): every act after its
opening publishes DeviationStateChanged; QA's approval of its CAPA plan also publishes
CapaPlanApproved with the actions, their owners and due dates. A deviation's messages are
keyed by its CoI, or by its id when it names batches rather than one lot."""

from __future__ import annotations

from datetime import datetime

from v2v_events.bounds import clip
from v2v_events.contracts import qc as c
from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.common import Who
from ..domain.deviation import Deviation
from ..domain.deviation_events import CapaPlanApproved
from ..domain.events import Classification, DeviationState
from .messages import actor


def subject(deviation: Deviation) -> str:
    return deviation.info.coi or deviation.id


def state_changed(
    deviation: Deviation,
    *,
    previous_state: DeviationState,
    previous_classification: Classification,
    note: str | None,
    at: datetime,
    by: Who,
) -> c.DeviationStateChanged:
    info = deviation.info
    classified = deviation.classified
    return c.DeviationStateChanged(
        deviation_id=deviation.id,
        coi=info.coi,
        lot_ids=deviation.lots,
        site=info.site,
        source=info.source,
        classification=c.DeviationClass(deviation.classification.value),
        previous_classification=c.DeviationClass(previous_classification.value),
        state=c.DeviationStatus(deviation.state.value),
        previous_state=c.DeviationStatus(previous_state.value),
        reportable=deviation.reportable,
        closure_due=None if classified is None else classified.closure_due,
        report_due=None if classified is None else classified.report_due,
        effectiveness_check_due=deviation.effectiveness_due,
        note=None if note is None else clip(note),
        opened_by=actor(info.opened_by),
        changed_at=at,
        actor=actor(by),
    )


def capa_approved(deviation: Deviation, plan: CapaPlanApproved) -> c.CapaPlanApproved:
    info = deviation.info
    return c.CapaPlanApproved(
        deviation_id=deviation.id,
        coi=info.coi,
        lot_ids=deviation.lots,
        site=info.site,
        classification=c.DeviationClass(deviation.classification.value),
        actions=[
            c.CapaActionOrder(
                action_id=a.action_id,
                description=a.description,
                owner=a.owner,
                due_date=a.due_date,
                kind=c.CapaKind(a.kind.value),
            )
            for a in plan.actions
        ],
        effectiveness_check_due=plan.effectiveness_due,
        approved_at=plan.approved_at,
        actor=actor(plan.approved_by),
    )


class Acting:
    """One act on a deviation: the deviation loaded as the act finds it, who acts and when;
    ``save`` stores what the act recorded and tells the world what it changed."""

    def __init__(self, uow: UnitOfWork, deviation: Deviation, by: Who) -> None:
        self.uow = uow
        self.deviation = deviation
        self.by = by
        self.at = uow.clock.now()
        self.state = deviation.state
        self.classification = deviation.classification

    @classmethod
    async def load(cls, uow: UnitOfWork, deviation_id: str, who: Actor) -> Acting:
        deviation = await uow.repository(Deviation).get(deviation_id)
        return cls(uow, deviation, Who(user_id=who.user_id, role=who.role))

    async def save(self, note: str | None, *, publish: bool = True) -> Deviation:
        """Store the deviation; ``publish``: its DeviationStateChanged (``note``: what the
        act recorded)."""
        await self.uow.repository(Deviation).save(self.deviation, self.by.model_dump())
        if publish:
            message = state_changed(
                self.deviation,
                previous_state=self.state,
                previous_classification=self.classification,
                note=note,
                at=self.at,
                by=self.by,
            )
            await self.uow.publish(message, subject=subject(self.deviation))
        return self.deviation
