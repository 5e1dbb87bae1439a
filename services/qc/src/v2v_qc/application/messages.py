"""Domain state -> public integration events (libs/events contracts), and the actor of a
contract as the domain records it."""

from __future__ import annotations

from v2v_events.contracts import qc as c
from v2v_events.contracts.common import Actor

from ..domain.common import Who
from ..domain.deviation import Deviation
from ..domain.events import (
    Certificate,
    LotRejected,
    PanelEvaluated,
    PanelStatus,
    RecoveryChosen,
    ResultRecorded,
)
from ..domain.panel import Panel


def who(actor: Actor) -> Who:
    return Who(user_id=actor.user_id, role=actor.role)


def actor(w: Who) -> Actor:
    return Actor(user_id=w.user_id, role=w.role)


def panel_ordered(panel: Panel) -> c.PanelOrdered:
    assert panel.ordered is not None
    return c.PanelOrdered(
        coi=panel.coi,
        panel_id=panel.id,
        lot_id=panel.lot_id,
        spec_id=panel.spec.spec_id,
        spec_version=panel.spec.version,
        tests=[
            c.TestOrder(code=t.code, name=t.name, method=t.method, limit=t.limit)
            for t in panel.spec.tests
        ],
        ordered_at=panel.ordered.ordered_at,
        actor=actor(panel.ordered.ordered_by),
    )


def result_recorded(panel: Panel, ev: ResultRecorded) -> c.ResultRecorded:
    return c.ResultRecorded(
        coi=panel.coi,
        panel_id=panel.id,
        lot_id=panel.lot_id,
        test_code=ev.test_code,
        value=ev.value,
        unit=ev.unit,
        within_limit=ev.within_limit,
        recorded_at=ev.recorded_at,
        actor=actor(ev.recorded_by),
    )


def panel_evaluated(panel: Panel, ev: PanelEvaluated) -> c.PanelEvaluated:
    return c.PanelEvaluated(
        coi=panel.coi,
        panel_id=panel.id,
        lot_id=panel.lot_id,
        outcome=(
            c.PanelOutcome.IN_SPECIFICATION
            if ev.outcome is PanelStatus.IN_SPECIFICATION
            else c.PanelOutcome.OUT_OF_SPECIFICATION
        ),
        failures=[c.TestFailure(code=f.code, value=f.value, limit=f.limit) for f in ev.failures],
        deviation_id=ev.deviation_id,
        evaluated_at=ev.evaluated_at,
    )


def deviation_opened(dev: Deviation) -> c.DeviationOpened:
    """The public event of a deviation on one lot (a deviation on batches has none: the
    contract names one CoI and lot)."""
    info = dev.info
    assert info.coi is not None and info.lot_id is not None
    return c.DeviationOpened(
        coi=info.coi,
        deviation_id=info.deviation_id,
        lot_id=info.lot_id,
        classification=c.DeviationClass(info.classification.value),
        source=info.source,
        description=info.description,
        opened_at=info.opened_at,
    )


def lot_released(cert: Certificate) -> c.LotReleased:
    return c.LotReleased(
        coi=cert.coi,
        lot_id=cert.lot_id,
        panel_id=cert.panel_id,
        certificate_id=cert.certificate_id,
        meaning=c.DecisionMeaning(cert.meaning.value),
        decided_at=cert.decided_at,
        actor=actor(cert.reviewer),
        conditional=cert.conditional,
        pending_tests=cert.pending_tests,
    )


def lot_release_rejected(ev: LotRejected) -> c.LotReleaseRejected:
    return c.LotReleaseRejected(
        coi=ev.coi,
        lot_id=ev.lot_id,
        panel_id=ev.panel_id,
        reason=ev.reason,
        meaning=c.DecisionMeaning.REJECTED,
        decided_at=ev.decided_at,
        actor=actor(ev.decided_by),
    )


def recovery_decided(chosen: RecoveryChosen) -> c.RecoveryDecided:
    return c.RecoveryDecided(
        coi=chosen.coi,
        lot_id=chosen.lot_id,
        decision=chosen.decision,
        reason=chosen.reason,
        decided_at=chosen.decided_at,
        actor=actor(chosen.decided_by),
    )
