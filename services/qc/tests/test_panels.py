"""Ordering a panel (Kafka), recording results (HTTP), the dose, and the evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from v2v_events.contracts.qc import (
    DeviationOpened,
    OrderPanel,
    PanelEvaluated,
    PanelOrdered,
    PanelOutcome,
    ResultRecorded,
)
from v2v_qc.adapters.config import PACKAGED_SPECS, load_specs
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness

from .change_control_support import approved
from .support import (
    COI,
    OTHER_COI,
    PASSING,
    build_harness,
    order,
    order_panel,
    post_all,
    post_result,
    problem,
    produced,
)


async def test_order_panel_publishes_the_ordered_tests(harness: ServiceHarness) -> None:
    panel_id = await order_panel(harness)
    [ordered] = await harness.published(PanelOrdered)
    assert (ordered.coi, ordered.lot_id, ordered.panel_id) == (COI, "lot-1", panel_id)
    assert (ordered.spec_id, ordered.spec_version) == ("SPEC-S1234", 1)
    assert [t.code for t in ordered.tests][:3] == ["viability", "car_pos", "cd3_pos"]
    assert ordered.tests[0].limit == ">= 70 %"
    assert ordered.actor.user_id == "journey-worker"
    topics = {t for t, env in await harness.outbox() if env.type.endswith("panel.ordered")}
    assert topics == {"v2v.qc.events"}


async def test_order_panel_is_idempotent_per_lot(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    first = await order_panel(harness)
    # The same command again (a new message id, e.g. a retried activity): same panel.
    assert await harness.deliver(order(), subject=COI, id="retry-1") is Outcome.PROCESSED
    # The same message again: the inbox skips it.
    assert await harness.deliver(order(), subject=COI, id="retry-1") is Outcome.DUPLICATE
    ordered = await harness.published(PanelOrdered)
    assert [p.panel_id for p in ordered] == [first, first]
    panels = (await client.get("/panels", params={"coi": COI})).json()
    assert [p["panel_id"] for p in panels] == [first]


@pytest.mark.requirement("EU-Annex11.5")
async def test_an_order_for_a_lot_of_another_patient_is_dead_lettered(
    harness: ServiceHarness,
) -> None:
    await order_panel(harness)
    wrong = order(coi=OTHER_COI)
    assert await harness.deliver(wrong, subject=OTHER_COI) is Outcome.DEAD_LETTERED
    assert len(await harness.published(PanelOrdered)) == 1


async def test_unknown_product_uses_the_default_spec(harness: ServiceHarness) -> None:
    await order_panel(harness, product_code="S0000")
    [ordered] = await harness.published(PanelOrdered)
    assert ordered.spec_id == "SPEC-DEFAULT"


@pytest.mark.requirement("EU-Annex11.10", "EU-PartIV.6.2")
async def test_a_new_spec_version_does_not_change_an_ordered_panel(tmp_path: Path) -> None:
    specs_dir = tmp_path / "specs"
    specs_dir.mkdir()
    v1 = json.loads((PACKAGED_SPECS / "S1234.v1.json").read_text())
    (specs_dir / "S1234.v1.json").write_text(json.dumps(v1))
    h1 = build_harness(tmp_path, load_specs(specs_dir))
    await h1.start()
    old_panel = await order_panel(h1, "lot-old")
    await h1.close()
    # Version 2 raises the viability limit; the service restarts with both versions.
    v2 = {**v1, "version": 2}
    v2["tests"] = [dict(t) for t in v1["tests"]]
    v2["tests"][0].update(min=80, limit=">= 80 %")
    (specs_dir / "S1234.v2.json").write_text(json.dumps(v2))
    h2 = build_harness(tmp_path, load_specs(specs_dir), ids_prefix="restarted")
    await h2.start()
    async with h2.client() as c:
        # configured, but in effect only once its change control is approved
        assert (await c.get("/specs/S1234")).json()["version"] == 1
        await approved(c, subject_id="SPEC-S1234", version=2)
    new_panel = await order_panel(h2, "lot-new")
    async with h2.client() as c:
        r = await post_result(c, old_panel, "viability", 75)
        assert r.json()["within_limit"] is True  # v1: >= 70 %
        r = await post_result(c, new_panel, "viability", 75)
        assert r.json()["within_limit"] is False  # v2: >= 80 %
        old = (await c.get(f"/panels/{old_panel}")).json()
        new = (await c.get(f"/panels/{new_panel}")).json()
        spec = (await c.get("/specs/S1234")).json()
    await h2.close()
    assert (old["spec_version"], old["tests"][0]["limit"]) == (1, ">= 70 %")
    assert (new["spec_version"], new["tests"][0]["limit"]) == (2, ">= 80 %")
    assert spec["version"] == 2


async def test_record_a_result(harness: ServiceHarness, client: httpx.AsyncClient) -> None:
    panel_id = await order_panel(harness)
    r = await post_result(client, panel_id, "viability", 85.2, unit="%")
    assert r.status_code == 201
    body = r.json()
    assert body["value"] == "85.2" and body["within_limit"] is True
    assert body["recorded_by"] == {"user_id": "u-analyst", "role": "qc-analyst"}
    assert body["corrected"] is False and body["panel_status"] == "ordered"
    assert "viability" not in body["pending"] and "dose" in body["pending"]
    [published] = await harness.published(ResultRecorded)
    assert (published.test_code, published.value, published.unit) == ("viability", "85.2", "%")
    assert published.within_limit and published.actor.user_id == "u-analyst"


async def test_unknown_test_is_a_422_problem(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    body = problem(await post_result(client, panel_id, "beads", 1), 422, "unknown-test")
    assert "viability" in body["tests"]
    problem(await post_result(client, panel_id, "dose", 2e6), 422, "dose-is-computed")
    problem(await post_result(client, panel_id, "viability", True), 422, "validation")
    problem(await post_result(client, panel_id, "viability", "lots"), 422, "value-not-numeric")
    assert await harness.published(ResultRecorded) == []


async def test_a_number_too_large_for_a_float_is_a_422_problem(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    # A JSON integer beyond the float range: float(10**400) raised OverflowError (500).
    panel_id = await order_panel(harness)
    for value in (10**400, -(10**400), "1e400"):
        r = await post_result(client, panel_id, "viability", value, unit="%")
        problem(r, 422, "value-not-numeric")
    assert await harness.published(ResultRecorded) == []


async def test_unknown_panel_is_404(client: httpx.AsyncClient) -> None:
    problem(await post_result(client, "nope", "viability", 80), 404, "panel-not-found")
    problem(await client.get("/panels/nope"), 404, "panel-not-found")


@pytest.mark.requirement("21CFR11.10(d)", "EU-Annex11.12.1")
async def test_missing_identity_is_a_401_problem(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    async with harness.client(headers={}) as anonymous:
        r = await anonymous.post(
            f"/panels/{panel_id}/results", json={"test_code": "viability", "value": 80}
        )
        problem(r, 401)
        old_headers = {"X-V2V-User": "u-1", "X-V2V-Role": "qc-analyst"}  # not an identity now
        r = await post_result(anonymous, panel_id, "viability", 80, headers=old_headers)
        problem(r, 401)
    assert await harness.published(ResultRecorded) == []


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9", "EU-PartIV.6.1")
async def test_a_correction_keeps_the_earlier_value(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_result(client, panel_id, "viability", 65)
    r = await post_result(client, panel_id, "viability", 75)
    problem(r, 409, "result-already-recorded")
    # a correction names one of the configured reason codes and says why
    r = await post_result(client, panel_id, "viability", 75, correction_reason="misread")
    assert problem(r, 422, "reason-code-missing")["field"] == "reason_code"
    r = await post_result(
        client, panel_id, "viability", 75, correction_reason="misread", reason_code="oops"
    )
    unknown = problem(r, 422, "reason-code-unknown")
    assert unknown["field"] == "reason_code" and "transcription-error" in unknown["allowed_codes"]
    r = await post_result(client, panel_id, "viability", 75, reason_code="transcription-error")
    problem(r, 409, "result-already-recorded")  # the code alone says not why
    r = await post_result(
        client,
        panel_id,
        "viability",
        75,
        correction_reason="transcription error",
        reason_code="transcription-error",
    )
    assert r.status_code == 201
    result = r.json()
    assert (result["value"], result["revision"], result["corrected"]) == ("75", 2, True)
    assert result["correction_reason"] == "transcription error"
    assert result["reason_code"] == "transcription-error"
    assert [(h["value"], h["within_limit"]) for h in result["history"]] == [("65", False)]
    panel = (await client.get(f"/panels/{panel_id}")).json()
    [viability] = [t for t in panel["tests"] if t["code"] == "viability"]
    assert (
        viability["result"]["value"] == "75" and viability["result"]["history"][0]["value"] == "65"
    )
    published = await harness.published(ResultRecorded)
    assert [p.value for p in published] == ["65", "75"]


@pytest.mark.requirement("EU-PartIV.12")
async def test_dose_is_computed_when_car_pos_is_recorded(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness, weight=70.0)  # lot: 4.6e8 viable cells
    r = await post_result(client, panel_id, "car_pos", 30)
    dose = r.json()["computed"]["dose"]
    assert dose["value"] == "1971429" and dose["unit"] == "CAR+ viable T cells/kg"
    assert dose["within_limit"] is True
    assert dose["recorded_by"] == {"user_id": "qc-dose-calculator", "role": "system"}
    assert dose["calculation"]["car_pos_viable_cells"] == pytest.approx(1.38e8)
    assert dose["calculation"]["patient_weight_kg"] == 70.0
    published = await harness.published(ResultRecorded)
    assert [(p.test_code, p.actor.user_id) for p in published] == [
        ("car_pos", "u-analyst"),
        ("dose", "qc-dose-calculator"),
    ]
    # A corrected CAR+ % recomputes the dose, as a correction of the dose.
    r = await post_result(
        client,
        panel_id,
        "car_pos",
        10,
        correction_reason="gating error",
        reason_code="instrument-error",
    )
    dose = r.json()["computed"]["dose"]
    assert dose["value"] == "657143" and dose["within_limit"] is False and dose["corrected"]
    assert dose["history"][0]["value"] == "1971429"
    # the dose changes for the reason its input changed
    assert (dose["reason_code"], dose["correction_reason"]) == (
        "instrument-error",
        "recomputed after a correction of car_pos",
    )


async def test_dose_is_computed_when_the_lot_arrives_after_car_pos(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness, with_lot=False)
    r = await post_result(client, panel_id, "car_pos", 30)
    assert r.json()["computed"] == {} and "dose" in r.json()["pending"]
    assert await harness.deliver(produced(), subject=COI) is Outcome.PROCESSED
    panel = (await client.get(f"/panels/{panel_id}")).json()
    [dose] = [t for t in panel["tests"] if t["code"] == "dose"]
    assert dose["result"]["value"] == "1971429" and panel["pending"] == [
        c for c in PASSING if c != "car_pos"
    ]
    # LotProduced again (redelivered with a new id): nothing changes.
    assert await harness.deliver(produced(), subject=COI) is Outcome.PROCESSED
    assert [p.test_code for p in await harness.published(ResultRecorded)] == ["car_pos", "dose"]


async def test_the_last_missing_result_can_be_the_lot_itself(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness, with_lot=False)
    await post_all(client, panel_id, reviewed=False)  # the dose is missing: not reviewable
    assert await harness.published(PanelEvaluated) == []
    await harness.deliver(produced(), subject=COI)
    [evaluated] = await harness.published(PanelEvaluated)
    assert evaluated.outcome is PanelOutcome.IN_SPECIFICATION


@pytest.mark.requirement("EU-PartIV.12")
async def test_in_specification_panel(harness: ServiceHarness, client: httpx.AsyncClient) -> None:
    panel_id = await order_panel(harness)
    responses = await post_all(client, panel_id)
    assert [r.json()["panel_status"] for r in responses][-2:] == ["ordered", "in-specification"]
    [evaluated] = await harness.published(PanelEvaluated)
    assert evaluated.outcome is PanelOutcome.IN_SPECIFICATION
    assert (evaluated.panel_id, evaluated.lot_id, evaluated.coi) == (panel_id, "lot-1", COI)
    assert evaluated.failures == [] and evaluated.deviation_id is None
    assert await harness.published(DeviationOpened) == []
    panel = (await client.get("/panels", params={"lot_id": "lot-1"})).json()[0]
    assert panel["status"] == "in-specification" and panel["pending"] == []
    assert panel["evaluated_at"] is not None
    # Evaluated once: a correction may follow while it leaves the evaluation standing ...
    r = await post_result(
        client, panel_id, "viability", 90, correction_reason="late", reason_code="other"
    )
    assert r.status_code == 201 and r.json()["panel_status"] == "in-specification"
    # ... and none that would change it
    r = await post_result(
        client, panel_id, "viability", 60, correction_reason="late", reason_code="other"
    )
    problem(r, 409, "correction-changes-evaluation")
    assert len(await harness.published(PanelEvaluated)) == 1


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_one_oos_result_opens_a_deviation(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id, {"endotoxin": 0.8})
    [evaluated] = await harness.published(PanelEvaluated)
    [deviation] = await harness.published(DeviationOpened)
    assert evaluated.outcome is PanelOutcome.OUT_OF_SPECIFICATION
    assert [(f.code, f.value, f.limit) for f in evaluated.failures] == [
        ("endotoxin", "0.8 EU/mL", "<= 0.5 EU/mL")
    ]
    assert evaluated.deviation_id == deviation.deviation_id
    assert (deviation.classification, deviation.source, deviation.lot_id) == (
        "major",
        "OOS",
        "lot-1",
    )
    assert "endotoxin 0.8 EU/mL" in deviation.description
    types = [env.type.rsplit(".", 2)[-2:] for _, env in await harness.outbox()]
    assert types[-2:] == [["deviation", "opened"], ["panel", "evaluated"]]
    panel = (await client.get(f"/panels/{panel_id}")).json()
    assert panel["status"] == "out-of-specification"
    assert panel["deviation_id"] == deviation.deviation_id
    assert panel["failures"] == [
        {"code": "endotoxin", "value": "0.8 EU/mL", "limit": "<= 0.5 EU/mL"}
    ]
    dev = (await client.get(f"/deviations/{deviation.deviation_id}")).json()
    assert (dev["state"], dev["panel_id"], dev["classification"]) == ("opened", panel_id, "major")
    assert dev["opened_by"] == {"user_id": "qc-evaluator", "role": "system"}
    listed = (await client.get("/deviations", params={"coi": COI})).json()
    assert [d["deviation_id"] for d in listed] == [deviation.deviation_id]


@pytest.mark.requirement("EU-PartIV.12")
async def test_a_low_dose_is_out_of_specification(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    # 1.0e8 viable cells x 30 % / 70 kg = 428,571 CAR+ cells/kg < 1.0e6
    panel_id = await order_panel(harness, total_viable_cells=1.0e8)
    await post_all(client, panel_id)
    [evaluated] = await harness.published(PanelEvaluated)
    assert [f.code for f in evaluated.failures] == ["dose"]


async def test_list_panels_needs_a_filter(client: httpx.AsyncClient) -> None:
    problem(await client.get("/panels"), 422, "filter-required")
    problem(await client.get("/deviations"), 422, "filter-required")
    assert (await client.get("/panels", params={"coi": COI})).json() == []


async def test_spec_endpoint(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/specs/S1234")).json()
    assert spec["spec_id"] == "SPEC-S1234" and spec["tests"][-1]["kind"] == "dose"
    assert (await client.get("/specs/S7777")).json()["product_code"] == "default"


async def test_order_panel_command_contract_round_trip(harness: ServiceHarness) -> None:
    cmd = OrderPanel.model_validate(order().model_dump())
    assert await harness.deliver(cmd, subject=COI) is Outcome.PROCESSED
    assert len(await harness.published(PanelOrdered)) == 1
