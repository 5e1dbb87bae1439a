"""Shared test data and helpers of the qc service tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from v2v_events.contracts.batch import LotProduced
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.contracts.qc import OrderPanel, PanelOrdered
from v2v_qc.adapters.config import load_deviation_policy
from v2v_qc.bootstrap import build
from v2v_qc.domain.spec import SpecCatalog
from v2v_qc.settings import QcSettings
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock, as_user, signed

POLICY = load_deviation_policy()  # the packaged one: critical 15, major 20, minor 30 days
COI = "CHA1B2C26000123"
OTHER_COI = "CHA1B2C26000456"
JOURNEY = Actor(user_id="journey-worker", role="system")
ANALYST = as_user("u-analyst", "qc-analyst")
QA = as_user("u-qa", "qa-reviewer")
QA_2 = as_user("u-qa-2", "qa-reviewer", name="Quinn Second")
REVIEWER = as_user("u-reviewer", "qc-reviewer", name="Rita Reviewer")
# What a request without its own headers is sent as: a QC reviewer reads everything of QC.
READER = as_user("u-qc-reader", "qc-reviewer")

# Every test of the S1234 / default panel within its limit (the dose is computed).
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
TOTAL_VIABLE_CELLS = 4.6e8  # x 30 % = 1.38e8 CAR+; / 70 kg = 1.971e6 per kg: in spec


def order(
    lot_id: str = "lot-1",
    *,
    coi: str = COI,
    product_code: str = "S1234",
    weight: float = 70.0,
    attempt: int = 1,
) -> OrderPanel:
    return OrderPanel(
        coi=coi,
        lot_id=lot_id,
        product_code=product_code,
        patient_weight_kg=weight,
        attempt=attempt,
        actor=JOURNEY,
    )


def produced(
    lot_id: str = "lot-1",
    *,
    coi: str = COI,
    total_viable_cells: float = TOTAL_VIABLE_CELLS,
    bag_ids: tuple[str, ...] = ("bag-1",),
) -> LotProduced:
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    return LotProduced(
        coi=coi,
        batch_id=f"batch-of-{lot_id}",
        lot_id=lot_id,
        bag_ids=list(bag_ids),
        total_viable_cells=total_viable_cells,
        viability_pct=88.0,
        retained_aliquots_remaining=1,
        manufacturing_site="MS-1",
        produced_at=at,
        expires_at=at + timedelta(days=365),
        actor=Actor(user_id="u-operator", role="manufacturing-operator"),
    )


def enrolled(coi: str = COI, treatment_center: str = "TC-1") -> PatientEnrolled:
    """Custody's enrolment of the patient, as QC hears of it (nothing identifying)."""
    return PatientEnrolled(
        coi=coi,
        therapy="CAR-T",
        product_code="S1234",
        autologous=True,
        treatment_center=treatment_center,
        apheresis_center="AC-1",
        manufacturing_site="MS-1",
        patient_weight_kg=70.0,
        earliest_collection=date(2026, 11, 2),
        enrolled_at=datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
        actor=Actor(user_id="u-coordinator", role="treatment-center-coordinator"),
    )


def build_harness(
    tmp_path: Path, specs: SpecCatalog | None = None, ids_prefix: str = "id"
) -> ServiceHarness:
    settings = QcSettings(database_url=ServiceHarness.sqlite_url(tmp_path, "qc"))
    clock = StepClock(tick=timedelta(seconds=1))
    spec = build(settings, clock=clock, ids=SeqIds(ids_prefix), specs=specs)
    return ServiceHarness(spec, headers=READER)


async def order_panel(
    h: ServiceHarness,
    lot_id: str = "lot-1",
    *,
    with_lot: bool = True,
    total_viable_cells: float = TOTAL_VIABLE_CELLS,
    coi: str = COI,
    **kw: Any,
) -> str:
    """LotProduced (unless with_lot=False), then OrderPanel; returns the panel id."""
    if with_lot:
        lot = produced(lot_id, coi=coi, total_viable_cells=total_viable_cells)
        outcome = await h.deliver(lot, subject=coi, id=f"produced-{lot_id}")
        assert outcome is Outcome.PROCESSED
    outcome = await h.deliver(order(lot_id, coi=coi, **kw), subject=coi, id=f"order-{lot_id}")
    assert outcome is Outcome.PROCESSED
    ordered = [p for p in await h.published(PanelOrdered) if p.lot_id == lot_id]
    return ordered[-1].panel_id


async def post_result(
    c: httpx.AsyncClient,
    panel_id: str,
    code: str,
    value: Any,
    headers: Mapping[str, str] = ANALYST,
    **extra: Any,
) -> httpx.Response:
    """Enter (or correct) a result, signed by the analyst as they do (428, then signed)."""
    body = {"test_code": code, "value": value, **extra}
    return await signed(c, f"/panels/{panel_id}/results", body, dict(headers))


async def post_all(
    c: httpx.AsyncClient,
    panel_id: str,
    overrides: Mapping[str, Any] | None = None,
    skip: tuple[str, ...] = (),
    *,
    reviewed: bool = True,
) -> list[httpx.Response]:
    """Post every entered result of the panel (PASSING with overrides), except ``skip``;
    then (``reviewed``) the QC reviewer reviews them, as QA's release needs."""
    values = {**PASSING, **(overrides or {})}
    out = []
    for code, value in values.items():
        if code in skip:
            continue
        r = await post_result(c, panel_id, code, value)
        assert r.status_code == 201, r.text
        out.append(r)
    if reviewed:
        r = await qc_review(c, panel_id)
        assert r.status_code == 201, r.text
    return out


async def qc_review(c: httpx.AsyncClient, panel_id: str) -> httpx.Response:
    """The QC reviewer (not an analyst of the panel) reviews its results, signed."""
    body = {"comment": "raw data, calculations and entries checked"}
    return await signed(c, f"/panels/{panel_id}/review", body, dict(REVIEWER))


async def release_package(c: httpx.AsyncClient, lot_id: str = "lot-1") -> dict[str, object]:
    """The lot's release package as QA reads it."""
    r = await c.get(f"/lots/{lot_id}/release-package", headers=QA)
    assert r.status_code == 200, r.text
    out: dict[str, object] = r.json()
    return out


def blockers(p: dict[str, object]) -> list[str]:
    """The codes of what would block the release, in the package's order."""
    found = p["blockers"]
    assert isinstance(found, list)
    return [b["code"] for b in found]


def problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    if code is not None:
        assert body["type"] == f"urn:vein2vein:problem:{code}", body
    return body


# Batch's and custody's parts of a lot's trail as a review names them in QC-only tests (QC has
# heard of no head of theirs, so any is current).
OTHER_PARTS = [
    {"service": "batch", "position": 7, "hash": "b" * 64},
    {"service": "custody", "position": 9, "hash": "c" * 64},
]


async def review_trail(
    client: httpx.AsyncClient,
    lot_id: str = "lot-1",
    coi: str = COI,
    headers: Mapping[str, str] = QA,
    others: list[dict[str, Any]] | None = None,
) -> httpx.Response:
    """QA reviews the lot's audit trail (signed): QC's part as GET /audit-trail shows it."""
    trail = await client.get("/audit-trail", params={"coi": coi}, headers=headers)
    assert trail.status_code == 200, trail.text
    head = trail.json()["head"]
    parts = [*(OTHER_PARTS if others is None else others)]
    parts.append({"service": "qc", "position": head["position"], "hash": head["hash"]})
    body = {"parts": parts, "comment": "batch, custody and QC trails reviewed: no findings"}
    return await signed(client, f"/lots/{lot_id}/audit-trail-review", body, dict(headers))


async def classified(
    client: httpx.AsyncClient, url: str, kind: str, headers: Mapping[str, str] = QA
) -> None:
    """QA's signed classification (triage) of the deviation at ``url``."""
    body = {"classification": kind, "rationale": "impact assessment started"}
    r = await signed(client, f"{url}/classification", body, dict(headers))
    assert r.status_code == 200, r.text


NO_CAPA = "isolated event, its cause removed by the containment: no CAPA needed"


async def investigated(
    client: httpx.AsyncClient, url: str, kind: str, headers: Mapping[str, str] = QA
) -> None:
    """The deviation at ``url`` triaged as ``kind`` by QA (signed), then contained and
    investigated (by ``headers``): where QA may close it without CAPA."""
    await classified(client, url, kind, headers)
    body: dict[str, Any] = {"actions": "product quarantined pending assessment", "affected": []}
    r = await client.post(f"{url}/containment", json=body, headers=headers)
    assert r.status_code == 200, r.text
    body = {"root_cause_category": "equipment", "narrative": "sensor drift, product unaffected"}
    r = await client.post(f"{url}/investigation", json=body, headers=headers)
    assert r.status_code == 200, r.text


def no_capa(reason: str) -> dict[str, str]:
    """A closure body after the investigation, with no CAPA needed."""
    return {"reason": reason, "no_capa_justification": NO_CAPA}


async def release_holds(
    client: httpx.AsyncClient, deviation_id: str, headers: Mapping[str, str] = QA
) -> list[str]:
    """QA releases, signed, every hold the deviation's containment placed; their ids."""
    placed = await client.get(
        "/holds", params={"deviation_id": deviation_id, "state": "placed"}, headers=headers
    )
    assert placed.status_code == 200, placed.text
    released = []
    for hold in placed.json():
        url = f"/holds/{hold['hold_id']}/release"
        r = await signed(client, url, {"reason": "deviation closed: no impact"}, headers)
        assert r.status_code == 200, r.text
        released.append(hold["hold_id"])
    return released
