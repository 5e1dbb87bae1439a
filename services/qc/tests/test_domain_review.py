"""Pure domain rules of the QC review of a panel's results and of QA's classification of a
deviation: who may, when, and what follows (a stale review; whether a deviation blocks)."""

from __future__ import annotations

import pytest

from v2v_qc.domain.common import DOSE_CALCULATOR, Forbidden, Who
from v2v_qc.domain.deviation import Deviation
from v2v_qc.domain.dose import compute_dose
from v2v_qc.domain.events import Classification, PanelStatus
from v2v_qc.domain.lot import Lot
from v2v_runtime.errors import Conflict

from .support import POLICY
from .test_domain import ANALYST, AT, PASSING, QA, fill, new_panel

REVIEWER = Who(user_id="u-reviewer", role="qc-reviewer")
QA_2 = Who(user_id="u-qa-2", role="qa-reviewer")


@pytest.mark.requirement("21CFR11.10(f)", "EU-PartIV.12")
def test_a_panel_is_reviewed_once_evaluated_by_someone_who_entered_none_of_it() -> None:
    panel = new_panel()
    fill(panel)
    with pytest.raises(Conflict) as err:
        panel.review(REVIEWER, AT)
    assert err.value.code == "panel-not-evaluated"
    panel.evaluate(AT, None)
    with pytest.raises(Forbidden) as forbidden:  # the analyst, even holding the role
        panel.review(Who(user_id=ANALYST.user_id, role="qc-reviewer"), AT)
    assert forbidden.value.code == "review-by-analyst"
    with pytest.raises(Forbidden) as forbidden:
        panel.review(QA, AT)
    assert forbidden.value.code == "role-not-allowed"
    with pytest.raises(Conflict) as err:
        panel.check_reviewed()
    assert err.value.code == "results-not-reviewed"
    reviewed = panel.review(REVIEWER, AT, "  raw data and calculations checked ")
    assert reviewed.comment == "raw data and calculations checked"
    assert reviewed.outcome is PanelStatus.IN_SPECIFICATION
    assert reviewed.results == {code: 1 for code in panel.results}
    assert panel.reviewed_current and panel.changed_since_review == []
    panel.check_reviewed()  # what QA's release will ask
    with pytest.raises(Conflict) as err:
        panel.review(REVIEWER, AT)
    assert err.value.code == "panel-already-reviewed"


@pytest.mark.requirement("EU-PartIV.12", "EU-PartIV.11.3.2")
def test_before_a_conditional_release_the_results_in_hand_are_reviewed() -> None:
    """Only the tests the specification allows to be pending at release may be outstanding;
    the result landing later makes the review stale (the package shows it)."""
    panel = new_panel()
    for code, value in PASSING.items():
        if code not in ("sterility", "potency"):
            panel.record(code, value, None, None, ANALYST, AT)
    panel.record_dose(
        compute_dose(4.6e8, panel.results["car_pos"].numeric or 0, 70), DOSE_CALCULATOR, AT
    )
    with pytest.raises(Conflict) as err:  # potency may not be pending
        panel.review(REVIEWER, AT)
    assert err.value.code == "panel-not-evaluated"
    assert err.value.extra["not_pendable"] == ["potency"]
    panel.record("potency", PASSING["potency"], None, None, ANALYST, AT)
    reviewed = panel.review(REVIEWER, AT)
    assert reviewed.outcome is PanelStatus.ORDERED and "sterility" not in reviewed.results
    panel.check_reviewed()
    panel.record("sterility", "no growth", None, None, ANALYST, AT)
    assert panel.changed_since_review == ["sterility"]


@pytest.mark.requirement("21CFR11.10(e)", "EU-PartIV.12")
def test_a_correction_after_the_review_makes_it_stale_until_reviewed_again() -> None:
    panel = new_panel()
    fill(panel)
    panel.evaluate(AT, None)
    panel.review(REVIEWER, AT)
    panel.record("endotoxin", 0.2, None, "sheet says 0.2", ANALYST, AT, "entry-error")
    assert not panel.reviewed_current
    assert panel.changed_since_review == ["endotoxin"]
    with pytest.raises(Conflict) as err:
        panel.check_reviewed()
    assert (err.value.code, err.value.extra["changed"]) == ("results-review-stale", ["endotoxin"])
    again = panel.review(REVIEWER, AT)
    assert again.results["endotoxin"] == 2 and len(panel.reviews) == 2
    assert panel.reviewed_current


def _deviation(by: Who = ANALYST, proposed: Classification = Classification.MAJOR) -> Deviation:
    return Deviation.open(
        "dev-1",
        coi="CHA1B2C26000123",
        lot_id="lot-1",
        classification=proposed,
        source="temperature-excursion",
        description="logger above -150 C for 20 min",
        by=by,
        at=AT,
    )


@pytest.mark.requirement("21CFR11.10(g)", "EU-PartIV.11.4")
def test_qa_classifies_a_deviation_its_author_proposed() -> None:
    dev = _deviation()
    assert dev.classification is Classification.MAJOR and dev.classified is None
    with pytest.raises(Forbidden) as forbidden:
        dev.classify(Classification.MINOR, "short", ANALYST, AT, POLICY)
    assert forbidden.value.code == "role-not-allowed"
    confirmed = dev.classify(Classification.MAJOR, "product at risk", QA, AT, POLICY)
    assert confirmed.previous is Classification.MAJOR
    # confirming the proposed class changes none: the triage moves the state only
    [triaged] = confirmed.changes()
    assert (triaged.field, triaged.old, triaged.new) == ("state", "opened", "triaged")
    with pytest.raises(Conflict) as err:
        dev.classify(Classification.MAJOR, "same again", QA, AT, POLICY)
    assert err.value.code == "deviation-already-classified"
    why = "logger fault: product stayed cold"
    lowered = dev.classify(Classification.MINOR, why, QA_2, AT, POLICY)
    [change] = lowered.changes()
    assert (change.field, change.old, change.new) == ("classification", "major", "minor")
    assert dev.classification is Classification.MINOR and dev.info.classification == "major"
    # the author of a deviation neither classifies nor closes it
    own = _deviation(by=QA)
    with pytest.raises(Forbidden) as forbidden:
        own.classify(Classification.MINOR, "mine", QA, AT, POLICY)
    assert forbidden.value.code == "classification-by-author"


@pytest.mark.requirement("EU-PartIV.11.3.1", "EU-PartIV.11.4")
def test_whether_a_deviation_blocks_release_follows_qa_classification() -> None:
    lot = Lot.named("lot-1")
    lot.assign_panel("CHA1B2C26000123", "panel-1")
    lot.link_deviation("CHA1B2C26000123", "dev-1", Classification.MINOR)
    assert lot.blocking_deviations == []
    lot.classify_deviation("dev-1", Classification.CRITICAL)
    assert lot.blocking_deviations == ["dev-1"]
    saved = len(lot.pending)
    lot.classify_deviation("dev-1", Classification.CRITICAL)  # no change: nothing recorded
    assert len(lot.pending) == saved
    lot.classify_deviation("dev-1", Classification.MINOR)
    assert lot.blocking_deviations == []
    lot.link_deviation("CHA1B2C26000123", "dev-2", Classification.MAJOR)
    lot.resolve_deviation("dev-2")
    assert lot.blocking_deviations == []
    replayed = Lot.replay(lot.id, lot.pending)
    assert replayed.deviations == lot.deviations
