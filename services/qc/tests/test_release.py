"""QA release decision: certificate of analysis, refusals, rejection, deviations."""

from __future__ import annotations

import httpx
import pytest

from v2v_events.contracts.qc import (
    DeviationOpened,
    LotReleased,
    LotReleaseRejected,
    PanelEvaluated,
)
from v2v_runtime.testing import ServiceHarness, signed

from .support import (
    ANALYST,
    COI,
    OTHER_COI,
    QA,
    investigated,
    no_capa,
    order_panel,
    post_all,
    post_result,
    problem,
    qc_review,
    release_holds,
    review_trail,
)


async def decide(
    c: httpx.AsyncClient,
    decision: str,
    lot_id: str = "lot-1",
    headers: dict[str, str] = QA,
    reason: str = "batch record, deviations, QC results and audit trail reviewed",
) -> httpx.Response:
    body = {"decision": decision, "reason": reason}
    if decision == "release":
        reviewed = await review_trail(c, lot_id)
        assert reviewed.status_code in (201, 404, 409), reviewed.text  # some tests refuse
    return await signed(c, f"/lots/{lot_id}/decision", body, headers)


async def released_lots(h: ServiceHarness) -> list[LotReleased]:
    return await h.published(LotReleased)


@pytest.mark.requirement(
    "EU-Annex11.15", "EU-PartIV.6.4", "EU-PartIV.11.3.1", "21CFR11.50(b)", "EU-Annex11.14(c)"
)
async def test_release_issues_a_certificate_of_analysis(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id, {"viability": 72})
    late = {"correction_reason": "plate re-read", "reason_code": "instrument-error"}
    r = await post_result(client, panel_id, "potency", 300, **late)
    problem(r, 409, "correction-changes-evaluation")  # the certificate shows evaluated values
    r = await decide(client, "release")
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["lot_id"], out["panel_id"], out["decision"], out["meaning"]) == (
        "lot-1",
        panel_id,
        "release",
        "released",
    )
    assert out["decided_by"] == {"user_id": "u-qa", "role": "qa-reviewer"}
    [released] = await harness.published(LotReleased)
    assert released.certificate_id == out["certificate_id"]
    assert (released.coi, released.lot_id, released.panel_id) == (COI, "lot-1", panel_id)
    assert released.meaning == "released" and released.actor.role == "qa-reviewer"

    cert = (await client.get(f"/certificates/{out['certificate_id']}")).json()
    assert (cert["lot_id"], cert["coi"], cert["panel_id"]) == ("lot-1", COI, panel_id)
    assert (cert["spec_id"], cert["spec_version"], cert["outcome"]) == (
        "SPEC-S1234",
        1,
        "in-specification",
    )
    assert (cert["decision"], cert["meaning"]) == ("release", "released")
    assert cert["reviewer"] == {"user_id": "u-qa", "role": "qa-reviewer"}
    assert cert["batch_id"] == "batch-of-lot-1" and cert["decided_at"]
    # the certificate shows who signed, when and meaning what (11.50): release and review
    [sig] = cert["signatures"]
    assert (sig["signer_name"], sig["meaning"]) == ("Test u-qa", "released")
    assert sig["signed_at"] and sig["signed_at_site"].endswith("UTC")
    assert sig["signature_id"] == out["signature"]["signature_id"]
    [review] = cert["audit_trail_review"]
    assert (review["meaning"], review["signer_id"]) == ("reviewed", "u-qa")
    results = {r["code"]: r for r in cert["results"]}
    assert len(results) == 11
    assert (results["viability"]["value"], results["viability"]["limit"]) == ("72", ">= 70 %")
    assert results["viability"]["recorded_by"]["user_id"] == "u-analyst"
    assert results["dose"]["value"] == "1971429" and results["dose"]["within_limit"]
    assert results["potency"]["value"] == "1200" and not results["potency"]["corrected"]
    assert results["sterility"]["unit"] is None and results["sterility"]["value"] == "no growth"

    panel = (await client.get(f"/panels/{panel_id}")).json()
    assert panel["decision"]["certificate_id"] == out["certificate_id"]
    assert panel["decision"]["decided_by"]["user_id"] == "u-qa"
    problem(await client.get("/certificates/nope"), 404, "certificate-not-found")


@pytest.mark.requirement("EU-Annex11.8.2")
async def test_certificate_shows_corrected_results(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_result(client, panel_id, "cd3_pos", 60)
    fix = {"correction_reason": "wrong gate", "reason_code": "instrument-error"}
    assert (await post_result(client, panel_id, "cd3_pos", 91, **fix)).status_code == 201
    await post_all(client, panel_id, skip=("cd3_pos",))
    # after the evaluation too (within its limit): e.g. what the QC review found
    fix = {"correction_reason": "sheet says 1250", "reason_code": "entry-error"}
    assert (await post_result(client, panel_id, "potency", 1250, **fix)).status_code == 201
    refused = problem(await decide(client, "release"), 409, "results-review-stale")
    assert refused["changed"] == ["potency"]
    assert (await qc_review(client, panel_id)).status_code == 201  # reviewed again
    cert_id = (await decide(client, "release")).json()["certificate_id"]
    cert = (await client.get(f"/certificates/{cert_id}")).json()
    shown = {r["code"]: (r["value"], r["corrected"], r["revisions"]) for r in cert["results"]}
    assert shown["cd3_pos"] == ("91", True, 2) and shown["potency"] == ("1250", True, 2)
    # QA decided: the results no longer change
    r = await post_result(client, panel_id, "potency", 1300, **fix)
    problem(r, 409, "lot-already-decided")


@pytest.mark.requirement("21CFR11.10(g)", "EU-Annex11.15")
async def test_only_a_qa_reviewer_decides(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id)
    body = problem(await decide(client, "release", headers=ANALYST), 403, "role-not-allowed")
    assert body["allowed_roles"] == ["qa-reviewer"]
    problem(await decide(client, "reject", headers=ANALYST), 403, "role-not-allowed")
    async with harness.client(headers={}) as anonymous:
        problem(await decide(anonymous, "release", headers={}), 401)
    assert await released_lots(harness) == []
    assert (await decide(client, "release")).status_code == 201


@pytest.mark.requirement("EU-PartIV.11.3.1")
async def test_release_refused_when_out_of_specification(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id, {"sterility": "growth (S. epidermidis)"})
    [evaluated] = await harness.published(PanelEvaluated)
    body = problem(await decide(client, "release"), 409, "lot-out-of-specification")
    assert body["failures"][0]["code"] == "sterility"
    assert body["deviation_id"] == evaluated.deviation_id
    assert await released_lots(harness) == []
    # Rejecting the OOS lot is allowed.
    r = await decide(client, "reject", reason="sterility failure")
    assert r.status_code == 201 and r.json()["certificate_id"] is None
    [rejected] = await harness.published(LotReleaseRejected)
    assert (rejected.lot_id, rejected.panel_id, rejected.reason) == (
        "lot-1",
        panel_id,
        "sterility failure",
    )
    assert rejected.meaning == "rejected" and rejected.actor.user_id == "u-qa"


@pytest.mark.requirement("21CFR11.10(f)", "EU-PartIV.11.3.1")
async def test_release_refused_before_the_panel_is_complete(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await order_panel(harness)
    body = problem(await decide(client, "release"), 409, "panel-not-evaluated")
    assert "viability" in body["pending"]
    problem(await decide(client, "release", lot_id="lot-unknown"), 404, "lot-not-found")


@pytest.mark.requirement("EU-PartIV.11.3.1", "EU-PartIV.11.4")
async def test_release_refused_while_a_major_deviation_is_open(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id)
    minor = await client.post(
        "/deviations",
        json={
            "coi": COI,
            "lot_id": "lot-1",
            "classification": "minor",
            "source": "late-step",
            "description": "label printed 10 min late",
        },
        headers=ANALYST,
    )
    assert minor.status_code == 201
    r = await client.post(
        "/deviations",
        json={
            "coi": COI,
            "lot_id": "lot-1",
            "classification": "major",
            "source": "temperature-excursion",
            "description": "dewar above -150 C for 20 min",
        },
        headers=ANALYST,
    )
    assert r.status_code == 201
    major = r.json()
    assert (major["state"], major["panel_id"], major["opened_by"]["user_id"]) == (
        "opened",
        panel_id,
        "u-analyst",
    )
    opened = await harness.published(DeviationOpened)
    assert [d.classification for d in opened] == ["minor", "major"]
    body = problem(await decide(client, "release"), 409, "open-deviation")
    assert body["deviation_ids"] == [major["deviation_id"]]
    # Only QA classifies and closes a deviation; then the lot can be released.
    close = f"/deviations/{major['deviation_id']}/close"
    problem(await client.post(close, json={"reason": "ok"}, headers=ANALYST), 403)
    await investigated(client, f"/deviations/{major['deviation_id']}", "major")
    r = await signed(client, close, no_capa("no impact on product"), QA)
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert r.json()["closed_by"]["role"] == "qa-reviewer"
    problem(await signed(client, close, no_capa("again"), QA), 409, "deviation-out-of-order")
    await release_holds(client, major["deviation_id"])
    cert_id = (await decide(client, "release")).json()["certificate_id"]
    cert = (await client.get(f"/certificates/{cert_id}")).json()
    assert {d["classification"]: d["state"] for d in cert["deviations"]} == {
        "minor": "opened",
        "major": "closed",
    }


async def test_deviation_for_an_unknown_lot_or_another_patient(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await order_panel(harness)
    body = {
        "coi": COI,
        "lot_id": "lot-x",
        "classification": "major",
        "source": "custody-mismatch",
        "description": "d",
    }
    problem(await client.post("/deviations", json=body, headers=ANALYST), 404, "lot-not-found")
    body.update(lot_id="lot-1", coi=OTHER_COI)
    problem(await client.post("/deviations", json=body, headers=ANALYST), 409, "lot-coi-mismatch")
    body.update(coi=COI)
    async with harness.client(headers={}) as anonymous:
        problem(await anonymous.post("/deviations", json=body), 401)


@pytest.mark.requirement("21CFR11.10(f)")
async def test_a_second_decision_is_a_conflict(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id)
    assert (await decide(client, "release")).status_code == 201
    body = problem(await decide(client, "release"), 409, "lot-already-decided")
    assert body["decision"] == "release"
    problem(await decide(client, "reject"), 409, "lot-already-decided")
    assert len(await released_lots(harness)) == 1
    assert await harness.published(LotReleaseRejected) == []


async def test_a_decision_needs_a_reason(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await order_panel(harness)
    problem(await decide(client, "reject", reason=""), 422, "validation")
    problem(await decide(client, "approve"), 422, "validation")
