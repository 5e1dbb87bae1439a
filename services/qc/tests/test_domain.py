"""Pure domain rules: dose computation, the panel's results, corrections and evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from v2v_qc.adapters.config import load_specs
from v2v_qc.domain.common import DOSE_CALCULATOR, Forbidden, Who
from v2v_qc.domain.dose import compute_dose
from v2v_qc.domain.events import Classification, PanelStatus, ResultRecorded
from v2v_qc.domain.lot import Lot
from v2v_qc.domain.panel import Panel
from v2v_runtime.errors import Conflict, DomainError

from .support import PASSING

AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
ANALYST = Who(user_id="u-analyst", role="qc-analyst")
QA = Who(user_id="u-qa", role="qa-reviewer")


def new_panel(weight: float = 70.0) -> Panel:
    return Panel.order(
        "panel-1",
        coi="CHA1B2C26000123",
        lot_id="lot-1",
        product_code="S1234",
        spec=load_specs().current("S1234"),
        patient_weight_kg=weight,
        attempt=1,
        by=Who(user_id="journey", role="system"),
        at=AT,
    )


def fill(panel: Panel, **over: float | str) -> None:
    for code, value in {**PASSING, **over}.items():
        panel.record(code, value, None, None, ANALYST, AT)
    panel.record_dose(
        compute_dose(4.6e8, panel.results["car_pos"].numeric or 0, 70), DOSE_CALCULATOR, AT
    )


# --- dose ---------------------------------------------------------------------------------


def test_dose_is_car_positive_viable_cells_per_kg() -> None:
    calc = compute_dose(total_viable_cells=4.6e8, car_pos_pct=30, patient_weight_kg=70)
    assert calc.car_pos_viable_cells == pytest.approx(1.38e8)
    assert calc.per_kg == pytest.approx(1.38e8 / 70)
    assert compute_dose(1e8, 50, 50).per_kg == 1.0e6


@pytest.mark.parametrize(("tvc", "pct", "kg"), [(0, 30, 70), (1e8, 101, 70), (1e8, 30, 0)])
def test_dose_inputs_must_make_sense(tvc: float, pct: float, kg: float) -> None:
    with pytest.raises(DomainError):
        compute_dose(tvc, pct, kg)


@pytest.mark.requirement("EU-PartIV.12")
def test_dose_result_is_recorded_with_its_calculation_and_judged() -> None:
    panel = new_panel(weight=50)
    low = panel.record_dose(compute_dose(1e8, 49.9, 50), DOSE_CALCULATOR, AT)
    assert low is not None and low.within_limit is False and low.value == "998000"
    assert low.calculation is not None and low.calculation.patient_weight_kg == 50
    at_min = panel.record_dose(compute_dose(1e8, 50, 50), DOSE_CALCULATOR, AT)
    assert at_min is not None and at_min.within_limit is True and at_min.revision == 2
    assert at_min.correction_reason == "recomputed after a correction of car_pos"
    assert panel.record_dose(compute_dose(1e8, 50, 50), DOSE_CALCULATOR, AT) is None
    capped = panel.record_dose(compute_dose(1e9, 25, 50), DOSE_CALCULATOR, AT)
    assert capped is not None and capped.within_limit is False  # 2.5e8 CAR+ > 2.0e8 cap


# --- results --------------------------------------------------------------------------------


def test_numeric_results_accept_numbers_and_numeric_text() -> None:
    panel = new_panel()
    a = panel.record("viability", 85, None, None, ANALYST, AT)
    b = panel.record("vcn", " 5.0 ", "copies/cell", None, ANALYST, AT)
    assert (a.value, a.numeric, a.unit, a.within_limit) == ("85", 85.0, "%", True)
    assert (b.value, b.numeric, b.within_limit) == ("5.0", 5.0, True)


@pytest.mark.requirement("EU-Annex11.6")
@pytest.mark.parametrize(
    ("code", "value", "unit", "error"),
    [
        ("viability", "high", None, "value-not-numeric"),
        ("viability", "nan", None, "value-not-numeric"),
        ("viability", 101, None, "value-out-of-range"),
        ("endotoxin", -0.1, None, "value-out-of-range"),
        ("viability", 80, "fraction", "unit-mismatch"),
        ("sterility", 0, None, "value-not-categorical"),
        ("sterility", "no growth", "CFU", "unit-not-applicable"),
        ("beads", "0", None, "unknown-test"),
        ("dose", 2e6, None, "dose-is-computed"),
    ],
)
def test_refused_entries(code: str, value: float | str, unit: str | None, error: str) -> None:
    with pytest.raises(DomainError) as err:
        new_panel().record(code, value, unit, None, ANALYST, AT)
    assert err.value.code == error
    assert err.value.status == 422


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9", "EU-PartIV.6.1")
def test_a_second_result_is_a_correction_that_needs_a_reason() -> None:
    panel = new_panel()
    panel.record("viability", 65, None, None, ANALYST, AT)
    with pytest.raises(Conflict) as err:
        panel.record("viability", 75, None, None, ANALYST, AT)
    assert err.value.code == "result-already-recorded"
    with pytest.raises(Conflict):
        panel.record("viability", 75, None, "   ", ANALYST, AT)
    with pytest.raises(DomainError) as err:  # the text alone: which of the codes?
        panel.record("viability", 75, None, "transcription error", ANALYST, AT)
    assert (err.value.code, err.value.extra["field"]) == ("reason-code-missing", "reason_code")
    fixed = panel.record(
        "viability",
        75,
        None,
        "transcription error",
        ANALYST,
        AT + timedelta(1),
        reason_code="transcription-error",
    )
    assert (fixed.revision, fixed.previous_value, fixed.within_limit) == (2, "65", True)
    assert (fixed.reason_code, fixed.correction_reason) == (
        "transcription-error",
        "transcription error",
    )
    assert [(c.field, c.old, c.new) for c in fixed.changes()] == [("viability", "65", "75")]
    assert panel.history["viability"][0].changes() == []  # the first entry changes nothing
    assert panel.corrected("viability") and [r.value for r in panel.history["viability"]] == [
        "65",
        "75",
    ]


def test_nothing_to_correct() -> None:
    for reason, code in (("typo", None), (None, "entry-error"), ("typo", "entry-error")):
        with pytest.raises(DomainError) as err:
            new_panel().record("viability", 75, None, reason, ANALYST, AT, reason_code=code)
        assert err.value.code == "nothing-to-correct"


def test_replay_restores_results_and_history() -> None:
    panel = new_panel()
    panel.record("viability", 65, None, None, ANALYST, AT)
    panel.record("viability", 75, None, "typo", ANALYST, AT, reason_code="entry-error")
    again = Panel.replay("panel-1", panel.pending)
    assert again.results["viability"].value == "75" and again.corrected("viability")
    assert again.version == 3 and again.spec == panel.spec


# --- evaluation -----------------------------------------------------------------------------


@pytest.mark.requirement("21CFR11.10(f)")
def test_evaluation_needs_every_result() -> None:
    panel = new_panel()
    panel.record("viability", 85, None, None, ANALYST, AT)
    assert "dose" in panel.pending_tests and not panel.complete
    with pytest.raises(Conflict) as err:
        panel.assess()
    assert err.value.code == "panel-incomplete"


def test_in_specification() -> None:
    panel = new_panel()
    fill(panel)
    assert panel.assess() == (PanelStatus.IN_SPECIFICATION, [])
    with pytest.raises(ValueError, match="deviation"):
        panel.evaluate(AT, "dev-1")
    evaluated = panel.evaluate(AT, None)
    assert evaluated.outcome is PanelStatus.IN_SPECIFICATION and panel.status == "in-specification"


@pytest.mark.requirement("EU-PartIV.12")
def test_out_of_specification_lists_each_failure() -> None:
    panel = new_panel()
    fill(panel, viability=69.9, mycoplasma="positive")
    outcome, failures = panel.assess()
    assert outcome is PanelStatus.OUT_OF_SPECIFICATION
    assert [(f.code, f.value, f.limit) for f in failures] == [
        ("viability", "69.9 %", ">= 70 %"),
        ("mycoplasma", "positive", "negative"),
    ]
    with pytest.raises(ValueError, match="deviation"):
        panel.evaluate(AT, None)
    assert panel.evaluate(AT, "dev-1").deviation_id == "dev-1"


@pytest.mark.requirement("21CFR11.10(f)")
def test_evaluation_happens_once_and_a_later_correction_leaves_it_standing() -> None:
    panel = new_panel()
    fill(panel)
    panel.evaluate(AT, None)
    with pytest.raises(Conflict):
        panel.evaluate(AT, None)
    # a result within its limit may be corrected (a transcription error the review found) ...
    fixed = panel.record("viability", 90, None, "transcribed wrong", ANALYST, AT, "entry-error")
    assert (fixed.revision, fixed.previous_value, fixed.within_limit) == (2, "85.2", True)
    # ... within its limit only: the evaluation stands
    with pytest.raises(Conflict) as err:
        panel.record("viability", 60, None, "re-read", ANALYST, AT, "entry-error")
    assert err.value.code == "correction-changes-evaluation"
    assert err.value.extra["outcome"] == "in-specification"
    # the dose follows a corrected CAR+ %, and may not cross its limit either
    with pytest.raises(Conflict) as err:
        panel.record_dose(compute_dose(4.6e8, 5, 70), DOSE_CALCULATOR, AT)
    assert err.value.code == "correction-changes-evaluation"
    dose = panel.record_dose(compute_dose(4.6e8, 40, 70), DOSE_CALCULATOR, AT)
    assert dose is not None and dose.revision == 2 and dose.within_limit
    # once QA decided on the lot, its results no longer change
    with pytest.raises(Conflict) as err:
        panel.record("cd3_pos", 91, None, "late", ANALYST, AT, "entry-error", lot_decided=True)
    assert err.value.code == "lot-already-decided"
    assert panel.status is PanelStatus.IN_SPECIFICATION and panel.revisions["viability"] == 2


@pytest.mark.requirement("21CFR11.10(f)", "EU-PartIV.12")
def test_a_failure_is_not_corrected_after_the_evaluation() -> None:
    """An OOS result is the deviation's investigation, not an edit; the other results may
    still be corrected within their limits."""
    panel = new_panel()
    fill(panel, viability=60)
    panel.evaluate(AT, "dev-1")
    with pytest.raises(Conflict) as err:
        panel.record("viability", 75, None, "re-read", ANALYST, AT, "entry-error")
    assert err.value.code == "correction-changes-evaluation"
    assert err.value.extra["deviation_id"] == "dev-1"
    assert panel.record("potency", 1300, None, "plate re-read", ANALYST, AT, "other").revision == 2


# --- lot and deviations --------------------------------------------------------------------


@pytest.mark.requirement("EU-PartIV.11.3.1")
def test_release_rules() -> None:
    panel = new_panel()
    lot = Lot.named("lot-1")
    lot.assign_panel(panel.coi, panel.id)
    with pytest.raises(Forbidden):
        lot.release(panel, "coa-1", "ok", ANALYST, AT)
    with pytest.raises(Conflict) as err:
        lot.release(panel, "coa-1", "ok", QA, AT)
    assert err.value.code == "panel-not-evaluated"
    fill(panel)
    panel.evaluate(AT, None)
    lot.link_deviation(panel.coi, "dev-minor", Classification.MINOR)
    lot.link_deviation(panel.coi, "dev-major", Classification.MAJOR)
    with pytest.raises(Conflict) as err:
        lot.release(panel, "coa-1", "ok", QA, AT)
    assert err.value.code == "open-deviation" and err.value.extra["deviation_ids"] == ["dev-major"]
    lot.resolve_deviation("dev-major")
    with pytest.raises(Conflict) as err:  # a second person has not reviewed the results
        lot.release(panel, "coa-1", "ok", QA, AT)
    assert err.value.code == "results-not-reviewed"
    panel.review(Who(user_id="u-reviewer", role="qc-reviewer"), AT)
    cert = lot.release(panel, "coa-1", "batch record reviewed", QA, AT)
    assert cert.reviewer == QA and cert.meaning == "released" and len(cert.results) == 11
    assert {d.deviation_id: d.state for d in cert.deviations} == {
        "dev-minor": "opened",
        "dev-major": "closed",
    }
    with pytest.raises(Conflict) as err:
        lot.reject("changed my mind", QA, AT)
    assert err.value.code == "lot-already-decided"


@pytest.mark.requirement("EU-PartIV.9")
def test_a_lot_belongs_to_one_chain_of_identity() -> None:
    lot = Lot.named("lot-1")
    lot.assign_panel("CHA1B2C26000123", "panel-1")
    with pytest.raises(Conflict) as err:
        lot.register(
            coi="CHA1B2C26000456",
            batch_id="b",
            total_viable_cells=1e8,
            viability_pct=90,
            attempt=1,
            produced_at=AT,
        )
    assert err.value.code == "lot-coi-mismatch"


def test_results_are_domain_events() -> None:
    panel = new_panel()
    ev = panel.record("viability", 85, None, None, ANALYST, AT)
    assert isinstance(ev, ResultRecorded) and ev.recorded_by == ANALYST
