"""What QA's release asks of a lot's results, final or conditional, and the certificate of
analysis it issues (pure; the lot applies them, domain/lot.py).

A conditional release lists the tests whose results are still outstanding: each must be one
the specification allows to be pending at release (``may_be_pending_at_release``), none may
have a result already (then it is a release), every other test must have one, and every
result recorded must be within its limit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from v2v_runtime.errors import Conflict, DomainError

from .common import Who
from .events import (
    Certificate,
    CertificateDeviation,
    CertificateResult,
    Classification,
    Decision,
    DeviationState,
    Failure,
    Meaning,
    PanelStatus,
)
from .panel import Panel
from .release_events import QpCertification


def check_results(lot_id: str, panel: Panel, pending: Sequence[str]) -> None:
    """409/422 unless the panel's results allow this (final or conditional) release."""
    if pending:
        _check_pending(lot_id, panel, pending)
        failures = _failures(panel)
    elif panel.evaluation is None:
        raise Conflict(
            "panel-not-evaluated",
            f"lot {lot_id} cannot be released: tests without a result",
            pending=panel.pending_tests,
            pendable=[c for c in panel.pending_tests if not panel.spec.not_pendable([c])],
        )
    else:
        failures = list(panel.evaluation.failures)
    if failures:
        raise Conflict(
            "lot-out-of-specification",
            f"lot {lot_id} is out of specification and cannot be released",
            failures=[f.model_dump() for f in failures],
            deviation_id=None if panel.evaluation is None else panel.evaluation.deviation_id,
        )


def _check_pending(lot_id: str, panel: Panel, pending: Sequence[str]) -> None:
    not_allowed = panel.spec.not_pendable(pending)
    if not_allowed:
        raise DomainError(
            "test-may-not-be-pending",
            f"specification {panel.spec.spec_id} v{panel.spec.version} does not allow "
            f"{', '.join(not_allowed)} to be pending at release",
            test_codes=not_allowed,
            field="pending_tests",
        )
    landed = [c for c in pending if c in panel.results]
    if landed:
        raise DomainError(
            "test-not-pending",
            f"{', '.join(landed)} of lot {lot_id} already has a result: not pending "
            "(with every result in, release the lot: decision release)",
            test_codes=landed,
            field="pending_tests",
        )
    missing = [c for c in panel.pending_tests if c not in pending]
    if missing:
        raise Conflict(
            "panel-not-evaluated",
            f"lot {lot_id} cannot be released conditionally: tests without a result that "
            f"are not listed pending: {', '.join(missing)}",
            pending=missing,
        )


def _failures(panel: Panel) -> list[Failure]:
    out = []
    for test in panel.spec.tests:
        r = panel.results.get(test.code)
        if r is not None and not r.within_limit:
            shown = r.value if r.unit is None else f"{r.value} {r.unit}"
            out.append(Failure(code=test.code, value=shown, limit=test.limit))
    return out


def certificate(
    *,
    certificate_id: str,
    lot_id: str,
    batch_id: str | None,
    panel: Panel,
    deviations: dict[str, tuple[Classification, bool]],
    pending: Sequence[str],
    certification: QpCertification | None,
    reason: str,
    by: Who,
    at: datetime,
) -> Certificate:
    """The certificate of analysis: the results recorded (a pending test has none)."""
    results = panel.results
    return Certificate(
        certificate_id=certificate_id,
        coi=panel.coi,
        lot_id=lot_id,
        batch_id=batch_id,
        panel_id=panel.id,
        product_code=panel.product_code,
        spec_id=panel.spec.spec_id,
        spec_version=panel.spec.version,
        outcome=PanelStatus.IN_SPECIFICATION,
        results=[
            CertificateResult(
                code=t.code,
                name=t.name,
                method=t.method,
                limit=t.limit,
                value=results[t.code].value,
                unit=results[t.code].unit,
                within_limit=results[t.code].within_limit,
                recorded_by=results[t.code].recorded_by,
                recorded_at=results[t.code].recorded_at,
                corrected=panel.corrected(t.code),
                revisions=len(panel.history[t.code]),
            )
            for t in panel.spec.tests
            if t.code in results
        ],
        deviations=[
            CertificateDeviation(
                deviation_id=d,
                classification=c,
                state=DeviationState.OPENED if is_open else DeviationState.CLOSED,
            )
            for d, (c, is_open) in deviations.items()
        ],
        decision=Decision.CONDITIONAL_RELEASE if pending else Decision.RELEASE,
        meaning=Meaning.CONDITIONALLY_RELEASED if pending else Meaning.RELEASED,
        reason=reason,
        reviewer=by,
        decided_at=at,
        conditional=bool(pending),
        pending_tests=list(pending),
        qp_certification=certification,
    )
