"""The release panel of one lot: the ordered tests (a copy of the specification), their
results, and the evaluation in or out of specification.

GMP: a second result for a test is a correction; it needs a reason, and the earlier value
stays in the event history (never obscured). The panel is evaluated once, when every test
has a result. After the evaluation a correction (e.g. a transcription error the QC review
found) is accepted until QA decides on the lot, and only when it leaves the evaluation as
it stands: the result was within its limit and stays within (a failure, or a correction
that would make one, is the OOS deviation's business, not an edit).

A QC reviewer, never one of the panel's analysts, reviews the evaluated results; the review
names the revision of each result it saw, so a later correction makes it stale and a new
review is needed (``reviewed_current``).
"""

from __future__ import annotations

from datetime import datetime

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError

from .common import Who
from .dose import DoseCalculation
from .events import (
    Failure,
    PanelEvaluated,
    PanelOrdered,
    PanelReviewed,
    PanelStatus,
    ResultRecorded,
)
from .review import changed_since, require_current_review, review_of
from .spec import (
    CategoricalTest,
    DoseTest,
    NumericTest,
    Spec,
    format_number,
    parse_number,
    whole_cells,
)


class Panel(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.coi = ""
        self.lot_id = ""
        self.product_code = ""
        self._spec: Spec | None = None
        self.patient_weight_kg = 0.0
        self.attempt = 1
        self.ordered: PanelOrdered | None = None
        self.results: dict[str, ResultRecorded] = {}
        self.history: dict[str, list[ResultRecorded]] = {}
        self.evaluation: PanelEvaluated | None = None
        self.reviews: list[PanelReviewed] = []

    # -- commands --

    @classmethod
    def order(
        cls,
        panel_id: str,
        *,
        coi: str,
        lot_id: str,
        product_code: str,
        spec: Spec,
        patient_weight_kg: float,
        attempt: int,
        by: Who,
        at: datetime,
    ) -> Panel:
        panel = cls(panel_id)
        panel._record(
            PanelOrdered(
                panel_id=panel_id,
                coi=coi,
                lot_id=lot_id,
                product_code=product_code,
                spec=spec,
                patient_weight_kg=patient_weight_kg,
                attempt=attempt,
                ordered_at=at,
                ordered_by=by,
            )
        )
        return panel

    def record(
        self,
        test_code: str,
        raw: float | str,
        unit: str | None,
        correction_reason: str | None,
        by: Who,
        at: datetime,
        reason_code: str | None = None,
        lot_decided: bool = False,
    ) -> ResultRecorded:
        """Record (or, with a reason code and text, correct) the result of one ordered
        test. The code is checked against the configured codes by the caller; whether QA
        decided on the lot too (its stream is not the panel's)."""
        test = self.spec.test(test_code)
        if test is None:
            raise DomainError(
                "unknown-test",
                f"test {test_code!r} is not on this panel "
                f"({self.spec.spec_id} v{self.spec.version})",
                tests=[t.code for t in self.spec.tests],
            )
        if isinstance(test, DoseTest):
            raise DomainError(
                "dose-is-computed",
                f"{test_code!r} is computed by QC from {test.from_test!r} and the lot's "
                "total viable cells; it cannot be entered",
            )
        reason = self._check_revision(test_code, correction_reason, reason_code, lot_decided)
        if isinstance(test, NumericTest):
            if unit is not None and unit.strip() != test.unit:
                raise DomainError(
                    "unit-mismatch",
                    f"{test_code!r} is reported in {test.unit!r}, not {unit!r}",
                    expected_unit=test.unit,
                )
            number = parse_number(raw, test_code)
            test.check_possible(number)
            value = raw.strip() if isinstance(raw, str) else format_number(number)
            within, numeric, unit = test.within(number), number, test.unit
        else:
            assert isinstance(test, CategoricalTest)
            if not isinstance(raw, str) or not raw.strip():
                raise DomainError(
                    "value-not-categorical",
                    f"{test_code!r} needs one of {test.accepted} (or another observed text)",
                )
            if unit is not None:
                raise DomainError("unit-not-applicable", f"{test_code!r} has no unit")
            value, within, numeric = raw.strip(), test.within(raw), None
        self._check_evaluation_stands(test_code, within)
        return self._add(test_code, value, numeric, unit, within, reason, by, at, None)

    def record_dose(self, calc: DoseCalculation, by: Who, at: datetime) -> ResultRecorded | None:
        """Record the computed dose; a new calculation (after a correction of the CAR+ %)
        is a correction of the dose, refused after the evaluation when it would change it.
        Nothing to do when unchanged."""
        dose = self.spec.dose
        if dose is None:
            return None
        previous = self.results.get(dose.code)
        if previous is not None and previous.calculation == calc:
            return None
        reason = None
        if previous is not None:  # a correction of the input, for the input's reason
            source = self.results.get(dose.from_test)
            text = f"recomputed after a correction of {dose.from_test}"
            reason = (None if source is None else source.reason_code, text)
        within = dose.within(calc.per_kg, calc.car_pos_viable_cells)
        self._check_evaluation_stands(dose.code, within)
        value = str(whole_cells(calc.per_kg))
        return self._add(dose.code, value, calc.per_kg, dose.unit, within, reason, by, at, calc)

    def assess(self) -> tuple[PanelStatus, list[Failure]]:
        """The outcome if evaluated now (every test must have a result)."""
        if self.pending_tests:
            raise Conflict("panel-incomplete", "tests without a result", pending=self.pending_tests)
        failures = []
        for test in self.spec.tests:
            r = self.results[test.code]
            if not r.within_limit:
                shown = r.value if r.unit is None else f"{r.value} {r.unit}"
                failures.append(Failure(code=test.code, value=shown, limit=test.limit))
        outcome = PanelStatus.OUT_OF_SPECIFICATION if failures else PanelStatus.IN_SPECIFICATION
        return outcome, failures

    def evaluate(self, at: datetime, deviation_id: str | None) -> PanelEvaluated:
        """Declare the lot in or out of specification; OOS needs the deviation's id."""
        if self.evaluation is not None:
            raise Conflict("panel-already-evaluated", f"panel {self.id} is already evaluated")
        outcome, failures = self.assess()
        oos = outcome is PanelStatus.OUT_OF_SPECIFICATION
        if oos != (deviation_id is not None):
            raise ValueError("a deviation id is given exactly when out of specification")
        event = PanelEvaluated(
            panel_id=self.id,
            outcome=outcome,
            failures=failures,
            deviation_id=deviation_id,
            evaluated_at=at,
        )
        self._record(event)
        return event

    def review(self, by: Who, at: datetime, comment: str | None = None) -> PanelReviewed:
        """A QC reviewer reviews the evaluated results as they stand now (rules: review.py)."""
        event = review_of(self, by, at, comment)
        self._record(event)
        return event

    def check_reviewed(self) -> None:
        """409 unless a QC review covers the results as they stand (what QA's release needs:
        ``results-not-reviewed`` or ``results-review-stale``)."""
        require_current_review(self)

    # -- state --

    @property
    def spec(self) -> Spec:
        if self._spec is None:
            raise RuntimeError("panel not ordered")
        return self._spec

    @property
    def status(self) -> PanelStatus:
        return PanelStatus.ORDERED if self.evaluation is None else self.evaluation.outcome

    @property
    def pending_tests(self) -> list[str]:
        return [t.code for t in self.spec.tests if t.code not in self.results]

    @property
    def result_authors(self) -> set[str]:
        """Everyone who entered or corrected one of the panel's results (their user ids)."""
        return {r.recorded_by.user_id for revisions in self.history.values() for r in revisions}

    @property
    def revisions(self) -> dict[str, int]:
        """The current revision of each result (1 = as first entered)."""
        return {code: len(entries) for code, entries in self.history.items()}

    @property
    def reviewed_current(self) -> bool:
        """Whether the last QC review saw the results as they stand (none changed since)."""
        return bool(self.reviews) and not self.changed_since_review

    @property
    def changed_since_review(self) -> list[str]:
        """Test codes whose result changed since the last review (all, without one)."""
        return changed_since(self.reviews, self.revisions)

    @property
    def complete(self) -> bool:
        return not self.pending_tests

    def corrected(self, code: str) -> bool:
        return len(self.history.get(code, [])) > 1

    def apply(self, event: DomainEvent) -> None:
        match event:
            case PanelOrdered():
                self.coi, self.lot_id = event.coi, event.lot_id
                self.product_code, self._spec = event.product_code, event.spec
                self.patient_weight_kg, self.attempt = event.patient_weight_kg, event.attempt
                self.ordered = event
            case ResultRecorded():
                self.results[event.test_code] = event
                self.history.setdefault(event.test_code, []).append(event)
            case PanelEvaluated():
                self.evaluation = event
            case PanelReviewed():
                self.reviews.append(event)
            case _:
                raise TypeError(f"panel cannot apply {type(event).__name__}")

    # -- helpers --

    def _check_revision(
        self, code: str, correction_reason: str | None, reason_code: str | None, decided: bool
    ) -> tuple[str | None, str] | None:
        """A correction's (reason code, text); None for the first entry of a result."""
        reason = (correction_reason or "").strip() or None
        reason_code = (reason_code or "").strip() or None
        if decided:
            raise Conflict(
                "lot-already-decided",
                f"QA decided on the lot of panel {self.id}: its results can no longer change",
            )
        if code not in self.results:
            if reason is not None or reason_code is not None:
                raise DomainError("nothing-to-correct", f"{code!r} has no result to correct yet")
            return None
        if reason is None:
            raise Conflict(
                "result-already-recorded",
                f"{code!r} already has a result; a correction needs a correction_reason and "
                "a reason_code",
            )
        if reason_code is None:
            raise DomainError(
                "reason-code-missing",
                f"correcting {code!r} needs a reason_code besides the correction_reason",
                field="reason_code",
            )
        return reason_code, reason

    def _check_evaluation_stands(self, code: str, within: bool) -> None:
        """After the evaluation, a correction may not change it: a result within its limit
        stays within, and a failure is not edited (the OOS deviation investigates it)."""
        if self.evaluation is None:
            return
        if not (self.results[code].within_limit and within):
            raise Conflict(
                "correction-changes-evaluation",
                f"panel {self.id} was evaluated {self.evaluation.outcome.value}; this "
                f"correction of {code!r} would change that (its result "
                f"{'was' if self.results[code].within_limit else 'was not'} within its "
                "limit): open a deviation instead",
                outcome=self.evaluation.outcome.value,
                deviation_id=self.evaluation.deviation_id,
            )

    def _add(
        self,
        code: str,
        value: str,
        numeric: float | None,
        unit: str | None,
        within: bool,
        reason: tuple[str | None, str] | None,  # a correction's (reason code, text)
        by: Who,
        at: datetime,
        calc: DoseCalculation | None,
    ) -> ResultRecorded:
        previous = self.results.get(code)
        event = ResultRecorded(
            panel_id=self.id,
            test_code=code,
            revision=len(self.history.get(code, [])) + 1,
            value=value,
            numeric=numeric,
            unit=unit,
            within_limit=within,
            recorded_at=at,
            recorded_by=by,
            correction_reason=None if reason is None else reason[1],
            reason_code=None if reason is None else reason[0],
            previous_value=None if previous is None else previous.value,
            calculation=calc,
        )
        self._record(event)
        return event
