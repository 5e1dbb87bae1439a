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
    QA,
    QC_REVIEWER,
    SPECIALIST,
    SYSTEM,
    Call,
    Scenario,
    clock_and_ids,
    deliver,
    lot_produced,
    ok,
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
    await results(h, c)
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


async def close_deviation(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await panel(h)
    deviation = await ok(c, "/deviations", DEVIATION, SPECIALIST)
    url = f"/deviations/{deviation['deviation_id']}"
    classified = {"classification": "minor", "rationale": "logger fault"}
    await signed_ok(c, f"{url}/classification", classified, QA)
    return await signed_call(c, f"{url}/close", {"reason": "no impact on product"}, QA)


async def recovery_decision(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await results(h, c)
    await signed_ok(c, "/lots/lot-1/decision", {"decision": "reject", "reason": "label"}, QA)
    body = {"decision": "new-collection", "reason": "no retained material suitable"}
    return Call("/lots/lot-1/recovery-decision", body, QA)


SCENARIOS: dict[str, Scenario] = {
    "POST /panels/{panel_id}/results": post_result,
    "POST /panels/{panel_id}/review": review,
    "POST /lots/{lot_id}/decision": decide,
    "POST /deviations": open_deviation,
    "POST /deviations/{deviation_id}/classification": classify_deviation,
    "POST /deviations/{deviation_id}/close": close_deviation,
    "POST /lots/{lot_id}/recovery-decision": recovery_decision,
    "POST /lots/{lot_id}/audit-trail-review": trail_review,
}
