"""The pure rules of change control: the lifecycle raised -> assessed -> approved ->
implemented (or rejected), who may do what, and what is refused out of order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from v2v_events.contracts.change_control import ChangeSubject
from v2v_qc.domain.change_control import ChangeControl, check_subject
from v2v_qc.domain.change_control_events import (
    ChangeControlState,
    ChangeImpactAssessed,
    ImpactAssessment,
    RiskLevel,
)
from v2v_qc.domain.common import Who
from v2v_runtime.errors import Conflict, DomainError

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
SUPERVISOR = Who(user_id="u-sup", role="manufacturing-supervisor")
QA = Who(user_id="u-qa", role="qa-reviewer")
QA_2 = Who(user_id="u-qa-2", role="qa-reviewer")
ANALYST = Who(user_id="u-analyst", role="qc-analyst")
IMPACT = ImpactAssessment(
    affected_products="S2CART",
    affected_batches="none in process",
    affected_documents="MBR S2CART v2, SOP-MFG-012",
    risk_level=RiskLevel.LOW,
    risk="wider wash volume range, validated",
    training_needed="operators on SOP-MFG-012 v3",
    validation_needed="none",
)


def raised(by: Who = SUPERVISOR) -> ChangeControl:
    return ChangeControl.raise_(
        "CC-1",
        subject_kind=ChangeSubject.MBR,
        subject_id="S2CART",
        site="MS-1",
        version=2,
        description="wash volume range widened",
        reason="process improvement",
        by=by,
        at=T0,
    )


def test_a_change_is_raised_assessed_approved_and_implemented() -> None:
    cc = raised()
    assert (cc.state, cc.subject) == (ChangeControlState.RAISED, "MBR S2CART at MS-1 v2")
    cc.assess(IMPACT, SUPERVISOR, T0)
    assert (cc.state, cc.assessment) == (ChangeControlState.ASSESSED, IMPACT)
    approved = cc.approve("go", QA, T0 + timedelta(hours=1))
    assert (cc.state, approved.approved_by, approved.comment) == (
        ChangeControlState.APPROVED,
        QA,
        "go",
    )
    assert cc.implement("batch", T0, T0, T0)
    assert not cc.implement("batch", T0, T0, T0)  # told again: nothing changes
    assert cc.state is ChangeControlState.IMPLEMENTED
    assert cc.implemented is not None and cc.implemented.service == "batch"


def test_a_reassessment_keeps_the_earlier_one_and_names_what_changed() -> None:
    cc = raised()
    cc.assess(IMPACT, SUPERVISOR, T0)
    with pytest.raises(Conflict, match="already assessed"):
        cc.assess(IMPACT, QA, T0)
    higher = IMPACT.model_copy(update={"risk_level": RiskLevel.HIGH})
    cc.assess(higher, QA, T0)
    assert [a.assessment.risk_level for a in cc.assessments] == [RiskLevel.LOW, RiskLevel.HIGH]
    last = cc.pending[-1]
    assert isinstance(last, ChangeImpactAssessed)
    assert [(c.field, c.old, c.new) for c in last.changes()] == [("risk_level", "low", "high")]


def test_transitions_out_of_order_are_conflicts() -> None:
    cc = raised()
    with pytest.raises(Conflict) as refused:
        cc.approve(None, QA, T0)
    assert refused.value.code == "change-control-not-assessed"
    assert not cc.implement("batch", T0, T0, T0)  # nothing approved to act on
    cc.reject("out of scope", QA, T0)  # rejected before assessment: allowed
    assert cc.state is ChangeControlState.REJECTED
    for act in (
        lambda: cc.assess(IMPACT, SUPERVISOR, T0),
        lambda: cc.approve(None, QA, T0),
        lambda: cc.reject("again", QA, T0),
    ):
        with pytest.raises(Conflict) as decided:
            act()
        assert (decided.value.code, decided.value.extra["state"]) == (
            "change-control-decided",
            "rejected",
        )


def test_who_raised_a_change_does_not_decide_on_it_and_only_qa_decides() -> None:
    cc = raised(by=QA)
    cc.assess(IMPACT, QA, T0)
    for approving, code in ((True, "approval-by-author"), (False, "rejection-by-author")):
        with pytest.raises(DomainError) as refused:
            cc.check_decision(QA, approving=approving)
        assert (refused.value.status, refused.value.code) == (403, code)
    with pytest.raises(DomainError) as not_qa:
        cc.approve(None, SUPERVISOR, T0)
    assert (not_qa.value.status, not_qa.value.code) == (403, "role-not-allowed")
    cc.approve(None, QA_2, T0)
    with pytest.raises(DomainError) as analyst:
        raised(by=ANALYST)
    assert analyst.value.status == 403


@pytest.mark.parametrize(
    ("kind", "subject_id", "site", "code"),
    [
        (ChangeSubject.MBR, "S2CART", None, "site-required"),
        (ChangeSubject.SPECIFICATION, "SPEC-S1234", "MS-1", "site-not-applicable"),
        (ChangeSubject.SOP, "SOP MFG/012", None, "invalid-subject-id"),
    ],
)
def test_an_mbr_names_its_site_and_nothing_else_does(
    kind: ChangeSubject, subject_id: str, site: str | None, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        check_subject(kind, subject_id, site)
    assert (refused.value.status, refused.value.code) == (422, code)
