"""The deviation's lifecycle as pure domain rules: every transition in its order, the acts
refused out of order (409 naming the state and what may come next), by the wrong role or by
the person who raised it (403), the CAPA plan's dates (422 naming the field), closure with or
without CAPA, the effectiveness check and its follow-up, the reportable flag and its report,
and what each event tells the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from v2v_qc.domain.common import Forbidden, Who
from v2v_qc.domain.deviation import FOLLOW_UP_SOURCE, Deviation
from v2v_qc.domain.deviation_events import (
    AffectedItem,
    AffectedKind,
    CapaKind,
    DeviationImplemented,
    Effectiveness,
    PlannedAction,
)
from v2v_qc.domain.deviation_states import Act, next_acts
from v2v_qc.domain.events import (
    Classification,
    DeviationBatch,
    DeviationClassified,
    DeviationClosed,
    DeviationState,
)
from v2v_runtime.errors import Conflict, DomainError, NotFound

from .support import POLICY

AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # a Tuesday
TODAY = AT.date()
SPECIALIST = Who(user_id="u-cts", role="cell-therapy-specialist")
SUPERVISOR = Who(user_id="u-sup", role="manufacturing-supervisor")
QA = Who(user_id="u-qa", role="qa-reviewer")
QA_2 = Who(user_id="u-qa-2", role="qa-reviewer")
ANALYST = Who(user_id="u-analyst", role="qc-analyst")
S = DeviationState


def opened(by: Who = SPECIALIST, proposed: Classification = Classification.MAJOR) -> Deviation:
    return Deviation.open(
        "dev-1",
        coi="CHA1B2C26000123",
        lot_id="lot-1",
        classification=proposed,
        source="temperature-excursion",
        description="dewar above -150 C for 20 min",
        by=by,
        at=AT,
    )


def plan(*dues: date, owner: str = SUPERVISOR.user_id) -> list[PlannedAction]:
    return [
        PlannedAction(
            description=f"action {i}",
            owner=owner,
            due_date=due,
            kind=CapaKind.CORRECTIVE if i == 1 else CapaKind.PREVENTIVE,
        )
        for i, due in enumerate(dues or (TODAY + timedelta(days=7),), 1)
    ]


def triaged(dev: Deviation) -> Deviation:
    dev.classify(Classification.MAJOR, "product at risk", QA, AT, POLICY)
    return dev


def contained(dev: Deviation) -> Deviation:
    dev.contain("dewar topped up; lot quarantined", [], SUPERVISOR, AT)
    return dev


def investigated(dev: Deviation) -> Deviation:
    dev.investigate("equipment", "level sensor drift", SUPERVISOR, AT, POLICY)
    return dev


def capa_approved(dev: Deviation) -> Deviation:
    dev.approve_capa_plan(plan(), TODAY + timedelta(days=90), QA, AT, POLICY)
    return dev


def implemented(dev: Deviation) -> Deviation:
    dev.complete_action("A1", "WO-4411", SUPERVISOR, AT)
    return dev


def closed(dev: Deviation) -> Deviation:
    dev.close("CAPA implemented", QA, AT, POLICY)
    return dev


STEPS: list[Callable[[Deviation], Deviation]] = [
    triaged,
    contained,
    investigated,
    capa_approved,
    implemented,
    closed,
]


def at_state(state: DeviationState) -> Deviation:
    dev = opened()
    for step in STEPS:
        if dev.state is state:
            break
        dev = step(dev)
    assert dev.state is state
    return dev


@pytest.mark.requirement("EU-PartIV.11.4", "21CFR11.10(e)")
def test_a_deviation_walks_its_lifecycle_to_an_effective_capa() -> None:
    dev = opened()
    assert (dev.state, dev.allowed_next) == (S.OPENED, [Act.CLASSIFICATION])
    triage = dev.classify(Classification.CRITICAL, "patient lot at risk", QA, AT, POLICY)
    assert dev.state is S.TRIAGED
    assert triage.closure_due == date(2026, 12, 15)  # critical: 15 working days from opening
    assert [(c.field, c.old, c.new) for c in triage.changes()] == [
        ("classification", "major", "critical"),
        ("state", "opened", "triaged"),
    ]
    items = [AffectedItem(kind=AffectedKind.UNIT, id="unit-7")]
    containment = dev.contain("dewar topped up", items, SUPERVISOR, AT)
    # the deviation's own lot is listed with what the investigator named
    assert containment.affected == [*items, AffectedItem(kind=AffectedKind.LOT, id="lot-1")]
    assert [(c.field, c.old, c.new) for c in containment.changes()] == [
        ("state", "triaged", "contained")
    ]
    dev.investigate("equipment", "level sensor drift", SUPERVISOR, AT, POLICY)
    assert dev.state is S.INVESTIGATED
    assert set(dev.allowed_next) == {Act.CAPA_PLAN, Act.CLOSE, Act.CLASSIFICATION}
    due = TODAY + timedelta(days=14)
    approved = dev.approve_capa_plan(plan(due, due), due + timedelta(days=60), QA, AT, POLICY)
    assert [a.action_id for a in approved.actions] == ["A1", "A2"]
    assert dev.state is S.CAPA_APPROVED and dev.effectiveness_due == due + timedelta(days=60)
    [first] = dev.complete_action("A1", "WO-4411", SUPERVISOR, AT)
    assert [(c.field, c.old, c.new) for c in first.changes()] == [
        ("capa action A1", "open", "done")
    ]
    assert dev.state is S.CAPA_APPROVED  # one action still open
    second, last = dev.complete_action("A2", "SOP-CRYO-004 v3", QA, AT)  # QA may mark it too
    assert second.done_by == QA
    assert isinstance(last, DeviationImplemented) and last.implemented_by == QA
    assert dev.state is S.IMPLEMENTED
    closure = dev.close("CAPA implemented", QA_2, AT, POLICY)
    assert closure.effectiveness_due == due + timedelta(days=60)  # the plan's
    assert [(c.field, c.old, c.new) for c in closure.changes()] == [
        ("state", "implemented", "closed")
    ]
    assert dev.is_closed and dev.allowed_next == [Act.EFFECTIVENESS_CHECK]
    check = dev.check_effectiveness(Effectiveness.EFFECTIVE, "no recurrence", QA, AT)
    assert dev.state is S.EFFECTIVE and dev.allowed_next == []
    assert [(c.field, c.old, c.new) for c in check.changes()] == [("state", "closed", "effective")]
    # the events replayed give the same deviation
    again = Deviation.replay(dev.id, dev.pending)
    assert (again.state, again.effectiveness_due, sorted(again.done)) == (
        S.EFFECTIVE,
        dev.effectiveness_due,
        ["A1", "A2"],
    )


@pytest.mark.requirement("EU-PartIV.11.4")
@pytest.mark.parametrize("state", [s for s in S if s not in (S.EFFECTIVE, S.NOT_EFFECTIVE)])
def test_acts_out_of_order_are_refused_naming_the_state_and_what_comes_next(
    state: DeviationState,
) -> None:
    dev = at_state(state)
    attempts: dict[Act, Callable[[], object]] = {
        Act.CLASSIFICATION: lambda: dev.classify(
            Classification.MINOR, "again", QA, AT, POLICY, reportable=True, reportable_reason="x"
        ),
        Act.CONTAINMENT: lambda: dev.contain("x", [], SUPERVISOR, AT),
        Act.INVESTIGATION: lambda: dev.investigate("people", "x", SUPERVISOR, AT, POLICY),
        Act.CAPA_PLAN: lambda: dev.approve_capa_plan(plan(), None, QA, AT, POLICY),
        Act.CAPA_ACTION_DONE: lambda: dev.complete_action("A1", "x", QA, AT),
        Act.CLOSE: lambda: dev.close("x", QA, AT, POLICY, no_capa_justification="none"),
        Act.EFFECTIVENESS_CHECK: lambda: dev.check_effectiveness(
            Effectiveness.EFFECTIVE, "x", QA, AT
        ),
    }
    allowed = next_acts(state, dev.capa is not None)
    assert dev.allowed_next == allowed
    for act, attempt in attempts.items():
        if act in allowed:
            continue
        before = len(dev.pending)
        with pytest.raises(Conflict) as err:
            attempt()
        assert err.value.code == "deviation-out-of-order", act
        assert err.value.extra["state"] == state.value
        assert err.value.extra["allowed_next"] == [a.value for a in allowed]
        assert len(dev.pending) == before  # nothing recorded


@pytest.mark.requirement("21CFR11.10(g)", "EU-PartIV.11.4")
def test_the_wrong_role_is_refused_at_every_step() -> None:
    dev = opened()
    with pytest.raises(Forbidden) as err:
        dev.classify(Classification.MAJOR, "x", SUPERVISOR, AT, POLICY)
    assert err.value.code == "role-not-allowed"
    triaged(dev)
    with pytest.raises(Forbidden) as err:  # an analyst does not record the containment
        dev.contain("x", [], ANALYST, AT)
    assert err.value.extra["allowed_roles"] == [
        "qa-reviewer",
        "qc-reviewer",
        "manufacturing-supervisor",
    ]
    contained(dev)
    with pytest.raises(Forbidden):
        dev.investigate("people", "x", SPECIALIST, AT, POLICY)
    investigated(dev)
    with pytest.raises(Forbidden):  # a supervisor investigates, QA approves the plan
        dev.approve_capa_plan(plan(), None, SUPERVISOR, AT, POLICY)
    dev.approve_capa_plan(plan(), None, QA, AT, POLICY)
    with pytest.raises(Forbidden) as err:  # not the action's owner, not QA
        dev.complete_action("A1", "x", SPECIALIST, AT)
    assert (err.value.code, err.value.extra["owner"]) == ("not-action-owner", "u-sup")
    with pytest.raises(NotFound):
        dev.complete_action("A9", "x", SUPERVISOR, AT)
    implemented(dev)
    with pytest.raises(Forbidden):
        dev.close("x", SUPERVISOR, AT, POLICY, effectiveness_due=TODAY)
    dev.close("x", QA, AT, POLICY, effectiveness_due=TODAY)
    with pytest.raises(Forbidden):
        dev.check_effectiveness(Effectiveness.EFFECTIVE, "x", SUPERVISOR, AT)


@pytest.mark.requirement("21CFR11.10(g)", "EU-PartIV.11.4")
def test_who_raised_it_does_not_triage_approve_close_or_check_it() -> None:
    dev = opened(by=QA)
    with pytest.raises(Forbidden) as err:
        dev.classify(Classification.MAJOR, "mine", QA, AT, POLICY)
    assert err.value.code == "classification-by-author"
    dev.classify(Classification.MAJOR, "confirmed", QA_2, AT, POLICY)
    # the opener may record the containment and the investigation (they are not decisions)
    dev.contain("quarantined", [], QA, AT)
    dev.investigate("people", "label mix-up", QA, AT, POLICY)
    with pytest.raises(Forbidden) as err:
        dev.approve_capa_plan(plan(owner="u-qa"), None, QA, AT, POLICY)
    assert err.value.code == "capa-approval-by-author"
    dev.approve_capa_plan(plan(owner="u-qa"), None, QA_2, AT, POLICY)
    dev.complete_action("A1", "training record TR-88", QA, AT)  # their own action: theirs
    with pytest.raises(Forbidden) as err:
        dev.close("x", QA, AT, POLICY, effectiveness_due=TODAY)
    assert err.value.code == "closure-by-author"
    dev.close("x", QA_2, AT, POLICY, effectiveness_due=TODAY)
    with pytest.raises(Forbidden) as err:
        dev.check_effectiveness(Effectiveness.EFFECTIVE, "x", QA, AT)
    assert err.value.code == "effectiveness-check-by-author"


@pytest.mark.requirement("EU-PartIV.11.4")
def test_a_capa_plans_dates_are_checked_naming_the_field() -> None:
    dev = investigated(contained(triaged(opened())))
    yesterday = TODAY - timedelta(days=1)
    with pytest.raises(DomainError) as err:
        dev.approve_capa_plan(plan(TODAY, yesterday), None, QA, AT, POLICY)
    assert (err.value.status, err.value.code) == (422, "due-date-in-past")
    assert err.value.extra["field"] == "actions[1].due_date"
    later = TODAY + timedelta(days=30)
    with pytest.raises(DomainError) as err:
        dev.approve_capa_plan(plan(later), later - timedelta(days=1), QA, AT, POLICY)
    assert err.value.code == "effectiveness-check-before-actions"
    assert err.value.extra["field"] == "effectiveness_check_due"
    with pytest.raises(DomainError) as err:
        dev.approve_capa_plan([], None, QA, AT, POLICY)
    assert err.value.code == "capa-plan-empty"
    assert dev.state is S.INVESTIGATED and dev.capa is None
    dev.approve_capa_plan(plan(TODAY, TODAY), None, QA, AT, POLICY)  # due today: not past
    implemented(dev)  # A1 done
    with pytest.raises(Conflict) as err:
        dev.complete_action("A1", "again", QA, AT)
    assert err.value.code == "capa-action-already-done"
    dev.complete_action("A2", "done", QA, AT)
    with pytest.raises(Conflict) as err:  # implemented: no action left to do
        dev.complete_action("A2", "again", QA, AT)
    assert err.value.code == "deviation-out-of-order"


@pytest.mark.requirement("EU-PartIV.11.4")
def test_closure_without_capa_needs_a_justification_with_capa_a_check_date() -> None:
    dev = investigated(contained(triaged(opened())))
    with pytest.raises(DomainError) as err:
        dev.close("no impact", QA, AT, POLICY)
    assert (err.value.code, err.value.extra["field"]) == (
        "no-capa-justification-required",
        "no_capa_justification",
    )
    with pytest.raises(DomainError) as err:
        dev.close("x", QA, AT, POLICY, no_capa_justification="isolated", effectiveness_due=TODAY)
    assert err.value.code == "no-capa-to-check"
    closure = dev.close("no impact", QA, AT, POLICY, no_capa_justification="isolated, sensor")
    assert (closure.no_capa_justification, closure.effectiveness_due) == ("isolated, sensor", None)
    assert closure.changes()[0].old == "investigated"
    assert dev.allowed_next == []  # nothing to check without CAPA
    with_capa = implemented(capa_approved(investigated(contained(triaged(opened())))))
    with pytest.raises(DomainError) as err:
        with_capa.close("x", QA, AT, POLICY, no_capa_justification="none")
    assert err.value.code == "capa-plan-exists"
    with pytest.raises(DomainError) as err:  # moved to yesterday
        with_capa.close("x", QA, AT, POLICY, effectiveness_due=TODAY - timedelta(days=1))
    assert err.value.extra["field"] == "effectiveness_check_due"
    planless = opened()
    for step in (triaged, contained, investigated):
        step(planless)
    planless.approve_capa_plan(plan(), None, QA, AT, POLICY)  # no check date in the plan
    implemented(planless)
    with pytest.raises(DomainError) as err:
        planless.close("x", QA, AT, POLICY)
    assert err.value.code == "effectiveness-check-due-required"
    closure = planless.close("x", QA, AT, POLICY, effectiveness_due=TODAY + timedelta(days=90))
    assert planless.effectiveness_due == TODAY + timedelta(days=90) == closure.effectiveness_due


@pytest.mark.requirement("EU-PartIV.11.4")
def test_a_capa_found_not_effective_opens_a_follow_up_deviation() -> None:
    dev = closed(implemented(capa_approved(investigated(contained(triaged(opened()))))))
    with pytest.raises(ValueError):  # a follow-up goes with "not effective" only
        dev.check_effectiveness(Effectiveness.NOT_EFFECTIVE, "recurred", QA, AT)
    check = dev.check_effectiveness(Effectiveness.NOT_EFFECTIVE, "recurred", QA, AT, "dev-2")
    assert dev.state is S.NOT_EFFECTIVE and check.follow_up_deviation_id == "dev-2"
    follow = dev.follow_up("dev-2", "recurred twice", QA, AT)
    info = follow.info
    assert (info.coi, info.lot_id, info.source) == ("CHA1B2C26000123", "lot-1", FOLLOW_UP_SOURCE)
    assert info.classification is Classification.MAJOR and "dev-1" in info.description
    assert follow.state is S.OPENED
    # a deviation on batches is followed up on the same batches
    on_batches = Deviation.open_on_batches(
        "dev-3",
        source="equipment",
        classification=Classification.MAJOR,
        description="centrifuge out of tolerance",
        site="MS-1",
        equipment_id="CEN-1",
        batches=[DeviationBatch(batch_id="b-1", coi="CHA1B2C26000123")],
        by=SUPERVISOR,
        at=AT,
    )
    later = on_batches.follow_up("dev-4", "recurred", QA, AT)
    assert (later.info.site, later.info.equipment_id, later.info.lot_id) == ("MS-1", "CEN-1", None)
    assert [b.batch_id for b in later.info.batches] == ["b-1"]


@pytest.mark.requirement("EU-PartIV.11.4")
def test_the_reportable_flag_has_its_reason_and_its_own_clock() -> None:
    dev = opened()
    with pytest.raises(DomainError) as err:
        dev.classify(Classification.MAJOR, "x", QA, AT, POLICY, reportable=True)
    assert (err.value.code, err.value.extra["field"]) == (
        "reportable-reason-required",
        "reportable_reason",
    )
    with pytest.raises(Conflict) as err:  # not flagged: nothing to report
        dev.check_report(TODAY, TODAY)
    assert err.value.code == "deviation-not-reportable"
    triage = dev.classify(
        Classification.MAJOR,
        "distributed lot affected",
        QA,
        AT,
        POLICY,
        reportable=True,
        reportable_reason="the lot was distributed: 21 CFR 600.14",
    )
    assert (triage.reportable, triage.report_due) == (True, date(2027, 1, 8))  # 45 days
    assert triage.closure_due == date(2026, 12, 22)  # major: 20 working days
    # classified again: the class changes the target; the flag stays unless given
    again = dev.classify(Classification.MINOR, "lower risk", QA, AT, POLICY)
    assert (again.reportable, again.reportable_reason) == (True, triage.reportable_reason)
    assert again.closure_due == date(2027, 1, 5) and again.changes()[0].field == "classification"
    assert dev.state is S.TRIAGED  # a reclassification does not move the state
    unflagged = dev.classify(
        Classification.MINOR, "not distributed after all", QA, AT, POLICY, reportable=False
    )
    assert [(c.field, c.old, c.new) for c in unflagged.changes()] == [("reportable", True, False)]
    dev.classify(
        Classification.MINOR, "distributed", QA, AT, POLICY, reportable=True, reportable_reason="y"
    )
    with pytest.raises(DomainError) as err:
        dev.record_report("BPDR-1", TODAY + timedelta(days=1), QA, AT, POLICY)
    assert (err.value.code, err.value.extra["field"]) == ("submitted-in-future", "submitted_on")
    with pytest.raises(Forbidden):
        dev.record_report("BPDR-1", TODAY, SUPERVISOR, AT, POLICY)
    report = dev.record_report("BPDR-2026-0042", TODAY, QA, AT, POLICY)
    assert (dev.report, report.submitted_on) == (report, TODAY)
    with pytest.raises(Conflict) as err:
        dev.record_report("BPDR-2", TODAY, QA, AT, POLICY)
    assert err.value.code == "report-already-recorded"


def test_deviation_events_of_before_the_lifecycle_still_load() -> None:
    v1 = {
        "deviation_id": "dev-1",
        "classification": "minor",
        "previous": "major",
        "reason": "logger fault",
        "classified_at": AT.isoformat(),
        "classified_by": QA.model_dump(),
    }
    classified = DeviationClassified.model_validate(DeviationClassified.upcast(v1, 1))
    assert (classified.reportable, classified.closure_due, classified.previous_state) == (
        False,
        None,
        None,
    )
    assert [c.field for c in classified.changes()] == ["classification"]
    closed_v1 = {"deviation_id": "dev-1", "reason": "ok", "closed_at": AT, "closed_by": QA}
    legacy = DeviationClosed.model_validate(DeviationClosed.upcast(closed_v1, 1))
    assert legacy.changes() == [] and legacy.effectiveness_due is None
    # replayed, a deviation closed straight after classification is closed, nothing to check
    dev = Deviation.replay("dev-1", [*opened().pending, classified, legacy])
    assert (dev.state, dev.allowed_next) == (S.CLOSED, [])
