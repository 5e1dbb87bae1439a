"""QC's POST operations, each brought to where it succeeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from v2v_events.contracts.qc import OrderPanel, PanelOrdered
from v2v_qc.bootstrap import build
from v2v_qc.settings import QcSettings
from v2v_runtime.testing import ServiceHarness

from .support import (
    ANALYST,
    COI,
    COORDINATOR,
    QA,
    QC_REVIEWER,
    QP,
    SPECIALIST,
    SUPERVISOR,
    SYSTEM,
    Call,
    Scenario,
    clock_and_ids,
    deliver,
    lot_produced,
    ok,
    patient_enrolled,
    signed_call,
    signed_ok,
)


def harness(tmp_path: Path) -> ServiceHarness:
    settings = QcSettings(database_url=ServiceHarness.sqlite_url(tmp_path, "qc"))
    clock, ids = clock_and_ids("qc")
    return ServiceHarness(build(settings, clock=clock, ids=ids))


PASSING: dict[str, Any] = {
    "viability": 85.2,
    "car_pos": 30,
    "cd3_pos": 92,
    "vcn": 2.1,
    "endotoxin": 0.1,
    "sterility": "no growth",
    "mycoplasma": "negative",
    "rcl": "not detected",
    "identity": "confirmed",
    "potency": 1200,
}


async def panel(h: ServiceHarness) -> str:
    await deliver(h, lot_produced("lot-1", ["bag-1"], "MS-1"))
    order = OrderPanel(
        coi=COI, lot_id="lot-1", product_code="S1234", patient_weight_kg=70.0, actor=SYSTEM
    )
    await deliver(h, order)
    return (await h.published(PanelOrdered))[-1].panel_id


DEVIATION = {
    "coi": COI,
    "lot_id": "lot-1",
    "classification": "major",
    "source": "temperature-excursion",
    "description": "dewar above -150 C for 20 min",
}


async def post_result(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    body = {"test_code": "viability", "value": 85.2}
    return await signed_call(c, f"/panels/{await panel(h)}/results", body, ANALYST)


async def results(h: ServiceHarness, c: httpx.AsyncClient) -> str:
    """The panel of lot-1 with every result entered (signed): evaluated in specification."""
    panel_id = await panel(h)
    for code, value in PASSING.items():
        body = {"test_code": code, "value": value}
        await signed_ok(c, f"/panels/{panel_id}/results", body, ANALYST)
    return panel_id


async def review(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    panel_id = await results(h, c)
    body = {"comment": "raw data and calculations checked"}
    return await signed_call(c, f"/panels/{panel_id}/review", body, QC_REVIEWER)


async def reviewed(c: httpx.AsyncClient, panel_id: str) -> None:
    """The QC reviewer's review of the results, which QA's release needs."""
    body = {"comment": "raw data and calculations checked"}
    await signed_ok(c, f"/panels/{panel_id}/review", body, QC_REVIEWER)


async def trail_review_body(c: httpx.AsyncClient) -> dict[str, Any]:
    """QA's review of lot-1's trail: QC's part as its audit trail shows it (QC has heard of
    no batch or custody head in these tests: any is current)."""
    trail = await c.get("/audit-trail", params={"coi": COI}, headers=QA)
    head = trail.json()["head"]
    parts = [
        {"service": "batch", "position": 3, "hash": "b" * 64},
        {"service": "custody", "position": 5, "hash": "c" * 64},
        {"service": "qc", "position": head["position"], "hash": head["hash"]},
    ]
    return {"parts": parts, "comment": "trails reviewed"}


async def trail_review(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await results(h, c)
    return await signed_call(c, "/lots/lot-1/audit-trail-review", await trail_review_body(c), QA)


async def decide(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await reviewed(c, await results(h, c))
    await signed_ok(c, "/lots/lot-1/audit-trail-review", await trail_review_body(c), QA)
    body = {"decision": "release", "reason": "batch record and results reviewed"}
    return await signed_call(c, "/lots/lot-1/decision", body, QA)


async def open_deviation(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await panel(h)
    return Call("/deviations", DEVIATION, SPECIALIST)


async def classify_deviation(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await panel(h)
    deviation = await ok(c, "/deviations", DEVIATION, SPECIALIST)
    body = {"classification": "major", "rationale": "product temperature unknown"}
    return await signed_call(c, f"/deviations/{deviation['deviation_id']}/classification", body, QA)


async def triaged(h: ServiceHarness, c: httpx.AsyncClient) -> str:
    """A deviation on lot-1 opened by a specialist and triaged by QA (signed); its URL."""
    await panel(h)
    deviation = await ok(c, "/deviations", DEVIATION, SPECIALIST)
    url = f"/deviations/{deviation['deviation_id']}"
    classified = {"classification": "minor", "rationale": "logger fault"}
    await signed_ok(c, f"{url}/classification", classified, QA)
    return url


CONTAINMENT = {"actions": "lot quarantined", "affected": [{"kind": "unit", "id": "bag-1"}]}
INVESTIGATION = {"root_cause_category": "equipment", "narrative": "logger battery low"}
CAPA_PLAN = {
    "actions": [
        {
            "description": "replace the logger",
            "owner": "u-sup",
            "due_date": "2026-12-15",
            "kind": "corrective",
        }
    ],
    "effectiveness_check_due": "2027-03-01",
}


async def investigated(h: ServiceHarness, c: httpx.AsyncClient) -> str:
    url = await triaged(h, c)
    await ok(c, f"{url}/containment", CONTAINMENT, SUPERVISOR)
    await ok(c, f"{url}/investigation", INVESTIGATION, SUPERVISOR)
    return url


async def contain_deviation(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call(f"{await triaged(h, c)}/containment", CONTAINMENT, SUPERVISOR)


async def investigate_deviation(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    url = await triaged(h, c)
    await ok(c, f"{url}/containment", CONTAINMENT, SUPERVISOR)
    return Call(f"{url}/investigation", INVESTIGATION, SUPERVISOR)


async def approve_capa_plan(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return await signed_call(c, f"{await investigated(h, c)}/capa-plan", CAPA_PLAN, QA)


async def capa_action_done(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    url = await investigated(h, c)
    await signed_ok(c, f"{url}/capa-plan", CAPA_PLAN, QA)
    return Call(f"{url}/capa-actions/A1/done", {"evidence": "WO-1"}, SUPERVISOR)


async def close_deviation(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    body = {"reason": "no impact on product", "no_capa_justification": "isolated logger fault"}
    return await signed_call(c, f"{await investigated(h, c)}/close", body, QA)


async def effectiveness_check(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    url = await investigated(h, c)
    await signed_ok(c, f"{url}/capa-plan", CAPA_PLAN, QA)
    await ok(c, f"{url}/capa-actions/A1/done", {"evidence": "WO-1"}, SUPERVISOR)
    await signed_ok(c, f"{url}/close", {"reason": "CAPA implemented"}, QA)
    body = {"result": "effective", "narrative": "no recurrence"}
    return await signed_call(c, f"{url}/effectiveness-check", body, QA)


async def regulatory_report(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    url = await triaged(h, c)
    flagged = {
        "classification": "major",
        "rationale": "distributed",
        "reportable": True,
        "reportable_reason": "a distributed lot is affected",
    }
    await signed_ok(c, f"{url}/classification", flagged, QA)
    body = {"reference": "BPDR-2026-0001", "submitted_on": "2026-11-24"}
    return await signed_call(c, f"{url}/regulatory-report", body, QA)


HOLD = {"kind": "unit", "id": "bag-7", "reason": "label damaged", "site": "MS-1"}


async def place_hold(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call("/holds", HOLD, QA)


async def release_hold(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    hold = await ok(c, "/holds", HOLD, QA)
    body = {"reason": "label reprinted and verified"}
    return await signed_call(c, f"/holds/{hold['hold_id']}/release", body, QA)


async def acknowledge_notification(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    """A deviation classified critical by QA: its notification, acknowledged by QA."""
    await panel(h)
    deviation = await ok(c, "/deviations", DEVIATION, SPECIALIST)
    url = f"/deviations/{deviation['deviation_id']}"
    critical = {"classification": "critical", "rationale": "product exposed"}
    await signed_ok(c, f"{url}/classification", critical, QA)
    listed = await c.get(
        "/notifications",
        params={"deviation_id": deviation["deviation_id"], "state": "awaiting-acknowledgement"},
        headers=QA,
    )
    [notification] = listed.json()
    path = f"/notifications/{notification['notification_id']}/acknowledgement"
    return Call(path, {"note": "on it"}, QA)


async def recovery_decision(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await results(h, c)
    await signed_ok(c, "/lots/lot-1/decision", {"decision": "reject", "reason": "label"}, QA)
    body = {"decision": "new-collection", "reason": "no retained material suitable"}
    return await signed_call(c, "/lots/lot-1/recovery-decision", body, QA)


XR = "/lots/lot-1/exceptional-release"
PHYSICIAN_REQUEST = {
    "treatment_center": "TC-1",
    "physician_name": "Dr Ada Physician",
    "physician_id": "LIC-1",
    "justification": "no alternative therapy",
}


async def out_of_specification(h: ServiceHarness, c: httpx.AsyncClient) -> str:
    """lot-1's panel evaluated out of specification (viability below its limit); the
    patient's treatment center, TC-1, known from the enrolment."""
    await deliver(h, patient_enrolled(PHYSICIAN_REQUEST["treatment_center"]))
    panel_id = await panel(h)
    for code, value in {**PASSING, "viability": 55.0}.items():
        body = {"test_code": code, "value": value}
        await signed_ok(c, f"/panels/{panel_id}/results", body, ANALYST)
    return panel_id


async def physician_request(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await out_of_specification(h, c)
    return await signed_call(c, f"{XR}/physician-request", PHYSICIAN_REQUEST, COORDINATOR)


async def risk_assessment(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await out_of_specification(h, c)
    await signed_ok(c, f"{XR}/physician-request", PHYSICIAN_REQUEST, COORDINATOR)
    return await signed_call(c, f"{XR}/risk-assessment", {"assessment": "acceptable"}, QA)


async def exceptional_decision(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await reviewed(c, await out_of_specification(h, c))  # the OOS results confirmed
    recovery = {"decision": "exceptional-release", "reason": "physician asks"}
    await signed_ok(c, "/lots/lot-1/recovery-decision", recovery, QA)
    await signed_ok(c, f"{XR}/physician-request", PHYSICIAN_REQUEST, COORDINATOR)
    await signed_ok(c, f"{XR}/risk-assessment", {"assessment": "acceptable"}, QA)
    return await signed_call(c, f"{XR}/decision", {"reason": "reviewed"}, QA)


async def authority_notification(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    decision = await exceptional_decision(h, c)
    await ok(c, decision.path, decision.body, QA)  # signed already
    return Call(f"{XR}/authority-notification", {"reference": "PEI-1"}, QA)


async def certification(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await results(h, c)
    return await signed_call(c, "/lots/lot-1/certification", {"statement": "GMP met"}, QP)


SCENARIOS: dict[str, Scenario] = {
    "POST /lots/{lot_id}/certification": certification,
    "POST /panels/{panel_id}/results": post_result,
    "POST /panels/{panel_id}/review": review,
    "POST /lots/{lot_id}/decision": decide,
    "POST /deviations": open_deviation,
    "POST /deviations/{deviation_id}/classification": classify_deviation,
    "POST /deviations/{deviation_id}/close": close_deviation,
    "POST /deviations/{deviation_id}/containment": contain_deviation,
    "POST /deviations/{deviation_id}/investigation": investigate_deviation,
    "POST /deviations/{deviation_id}/capa-plan": approve_capa_plan,
    "POST /deviations/{deviation_id}/capa-actions/{action_id}/done": capa_action_done,
    "POST /deviations/{deviation_id}/effectiveness-check": effectiveness_check,
    "POST /deviations/{deviation_id}/regulatory-report": regulatory_report,
    "POST /lots/{lot_id}/recovery-decision": recovery_decision,
    "POST /notifications/{notification_id}/acknowledgement": acknowledge_notification,
    "POST /lots/{lot_id}/audit-trail-review": trail_review,
    "POST /holds": place_hold,
    "POST /holds/{hold_id}/release": release_hold,
    "POST /lots/{lot_id}/exceptional-release/physician-request": physician_request,
    "POST /lots/{lot_id}/exceptional-release/risk-assessment": risk_assessment,
    "POST /lots/{lot_id}/exceptional-release/decision": exceptional_decision,
    "POST /lots/{lot_id}/exceptional-release/authority-notification": authority_notification,
}
