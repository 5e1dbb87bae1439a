"""Signed QC acts on a panel: the analyst's result entry and correction (meaning performed)
and the QC reviewer's review (meaning reviewed) — the content shown unsigned (428), the
signer carried (not the session's owner), who may not sign, the stale review after a
correction, and what the panel view shows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from v2v_events.contracts.qc import ResultRecorded
from v2v_runtime.audit import verify
from v2v_runtime.db.tables import events
from v2v_runtime.signatures.model import content_hash
from v2v_runtime.testing import ServiceHarness, as_user, signed

from .support import ANALYST, QA, REVIEWER, order_panel, post_all, post_result, problem

# People who sign below on another's session (as_user makes them known to the signing test
# provider): a second analyst, and an analyst of another site (lot-1 is MS-1's).
as_user("u-analyst-2", "qc-analyst", name="Alma Second")
as_user("u-analyst-ms2", "qc-analyst", sites=("MS-2",))
FIX = {"correction_reason": "sheet says 0.2", "reason_code": "entry-error"}


async def stream(harness: ServiceHarness, stream_id: str) -> list[Any]:
    async with harness.kit.sessions() as s:
        rows = await s.execute(
            select(events).where(events.c.stream_id == stream_id).order_by(events.c.version)
        )
        return list(rows)


async def evaluated_panel(harness: ServiceHarness, client: httpx.AsyncClient) -> str:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id, reviewed=False)  # these tests review it
    return panel_id


def review_url(panel_id: str) -> str:
    return f"/panels/{panel_id}/review"


@pytest.mark.requirement(
    "21CFR11.50(a)", "21CFR11.70", "EU-Annex11.14(c)", "EU-PartIV.12", "EU-Annex11.14(a)"
)
async def test_a_result_is_entered_signed_by_the_analyst(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    url = f"/panels/{panel_id}/results"
    entry = {"test_code": "viability", "value": 85.2, "unit": "%"}
    shown = await client.post(url, json=entry, headers=ANALYST)
    body = problem(shown, 428, "signature-required")
    content = body["content"]
    assert body["meaning"] == "performed" == content["meaning"]
    assert content["record"]["id"] == panel_id
    assert content["values"] == {
        "panel_id": panel_id,
        "test_code": "viability",
        "value": "85.2",
        "unit": "%",
        "correction_reason": None,
        "reason_code": None,
    }
    assert content["statement"] == (
        f"I performed test viability of QC panel {panel_id}; its result: 85.2 %."
    )
    assert body["content_hash"] == content_hash(content)
    # nothing was recorded before the signature
    assert await harness.published(ResultRecorded) == []
    r = await post_result(client, panel_id, "viability", 85.2, unit="%")
    assert r.status_code == 201, r.text
    sig = r.json()["signature"]
    assert (sig["meaning"], sig["signer_id"], sig["signer_name"], sig["signer_role"]) == (
        "performed",
        "u-analyst",
        "Test u-analyst",
        "qc-analyst",
    )
    assert sig["signed_at_site"].endswith("UTC") and sig["record_id"] == panel_id
    [*_, result, signature] = await stream(harness, panel_id)
    assert (result.event_type, signature.event_type) == (
        "qc.result.recorded",
        "v2v.signature.recorded",
    )
    assert signature.payload["content"]["values"]["test_code"] == "viability"


@pytest.mark.requirement("21CFR11.100(a)", "21CFR11.200(a)(2)", "21CFR11.10(g)")
async def test_the_signer_enters_the_result_and_only_an_analyst_of_the_lot_s_site_signs(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    url = f"/panels/{panel_id}/results"
    # a second analyst signs on the first one's tablet: the result is the second's
    r = await signed(
        client, url, {"test_code": "cd3_pos", "value": 92}, ANALYST, signer="u-analyst-2"
    )
    assert r.status_code == 201, r.text
    assert r.json()["recorded_by"] == {"user_id": "u-analyst-2", "role": "qc-analyst"}
    assert (r.json()["signature"]["signer_id"], r.json()["signature"]["signer_name"]) == (
        "u-analyst-2",
        "Alma Second",
    )
    [*_, signature] = await stream(harness, panel_id)
    assert signature.payload["authentication"]["session_user_id"] == "u-analyst"
    # QA authenticates but may not sign a result; nor an analyst of another site
    body = {"test_code": "vcn", "value": 2.1}
    problem(await signed(client, url, body, ANALYST, signer="u-qa"), 403, "signer-not-allowed")
    problem(
        await signed(client, url, body, ANALYST, signer="u-analyst-ms2"), 403, "signer-not-allowed"
    )
    # a wrong password is refused (and recorded by the gate)
    r = await signed(client, url, body, ANALYST, password="guess")
    problem(r, 403, "signature-authentication-failed")
    codes = [e.test_code for e in await harness.published(ResultRecorded)]
    assert codes == ["cd3_pos"]


@pytest.mark.requirement("21CFR11.10(e)", "21CFR11.70", "EU-Annex11.9")
async def test_a_correction_is_signed_with_its_reason(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_result(client, panel_id, "endotoxin", 0.1)
    url = f"/panels/{panel_id}/results"
    correction = {"test_code": "endotoxin", "value": 0.2, **FIX}
    shown = problem(await client.post(url, json=correction, headers=ANALYST), 428)
    assert shown["content"]["values"]["correction_reason"] == "sheet says 0.2"
    assert shown["content"]["values"]["reason_code"] == "entry-error"
    assert "(entry-error: sheet says 0.2)" in shown["content"]["statement"]
    # the hash names what was shown: another reason is not what was signed
    other = {**correction, "correction_reason": "something else"}
    signature = {"content_hash": shown["content_hash"], "username": "u-analyst"}
    r = await client.post(
        url,
        json={**other, "signature": {**signature, "password": "pw-u-analyst"}},
        headers=ANALYST,
    )
    problem(r, 409, "signed-content-changed")
    r = await post_result(client, panel_id, "endotoxin", 0.2, **FIX)
    assert r.status_code == 201, r.text
    assert (r.json()["revision"], r.json()["signature"]["meaning"]) == (2, "performed")


@pytest.mark.requirement("21CFR11.10(g)", "21CFR11.50(a)", "EU-PartIV.12", "EU-Annex11.6")
async def test_a_qc_reviewer_reviews_the_evaluated_results_signed(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id, skip=("potency",), reviewed=False)
    # not before the evaluation
    r = await signed(client, review_url(panel_id), {}, REVIEWER)
    problem(r, 409, "panel-not-evaluated")
    await post_result(client, panel_id, "potency", 1200)
    shown = problem(await client.post(review_url(panel_id), json={}, headers=REVIEWER), 428)
    content = shown["content"]
    assert content["meaning"] == "reviewed"
    assert content["values"]["outcome"] == "in-specification"
    assert content["values"]["results"]["viability"] == {
        "value": "85.2",
        "unit": "%",
        "within_limit": True,
        "revision": 1,
    }
    assert "dose" in content["values"]["results"]  # the computed one too
    # the analyst's role may not review; nor may QA sign a review
    problem(await signed(client, review_url(panel_id), {}, ANALYST), 403, "role-not-allowed")
    r = await signed(client, review_url(panel_id), {}, REVIEWER, signer="u-qa")
    problem(r, 403, "signer-not-allowed")
    body = {"comment": "raw data, calculations and audit trail checked"}
    r = await signed(client, review_url(panel_id), body, REVIEWER)
    assert r.status_code == 201, r.text
    panel = r.json()
    assert panel["review_status"] == "current"
    [review] = panel["reviews"]
    assert review["reviewed_by"] == {"user_id": "u-reviewer", "role": "qc-reviewer"}
    assert (review["comment"], review["current"], review["outcome"]) == (
        body["comment"],
        True,
        "in-specification",
    )
    reviewed = [s for s in panel["signatures"] if s["meaning"] == "reviewed"]
    assert [(s["signer_id"], s["signer_name"]) for s in reviewed] == [
        ("u-reviewer", "Rita Reviewer")
    ]
    r = await signed(client, review_url(panel_id), {}, REVIEWER)
    problem(r, 409, "panel-already-reviewed")


@pytest.mark.requirement("21CFR11.10(g)", "EU-PartIV.12", "EU-Annex11.6")
async def test_who_entered_a_result_of_the_panel_does_not_review_it(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    both = as_user("u-both", "qc-analyst", "qc-reviewer", name="Bo Both")
    panel_id = await order_panel(harness)
    assert (await post_result(client, panel_id, "viability", 85.2, headers=both)).is_success
    await post_all(client, panel_id, skip=("viability",), reviewed=False)
    r = await signed(client, review_url(panel_id), {}, both)
    problem(r, 403, "review-by-analyst")
    # signing on a reviewer's tablet changes nothing: the act is the signer's
    r = await signed(client, review_url(panel_id), {}, REVIEWER, signer="u-both")
    problem(r, 403, "review-by-analyst")
    assert (await signed(client, review_url(panel_id), {}, REVIEWER)).status_code == 201


@pytest.mark.requirement("21CFR11.10(e)", "21CFR11.10(f)", "EU-PartIV.12")
async def test_a_correction_after_the_review_makes_it_stale(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await evaluated_panel(harness, client)
    assert (await signed(client, review_url(panel_id), {}, REVIEWER)).status_code == 201
    r = await post_result(client, panel_id, "endotoxin", 0.2, **FIX)
    assert r.status_code == 201, r.text
    assert r.json()["review_status"] == "stale"
    panel = (await client.get(f"/panels/{panel_id}")).json()
    assert panel["review_status"] == "stale"
    [review] = panel["reviews"]
    assert (review["current"], review["changed_since"]) == (False, ["endotoxin"])
    assert review["results"]["endotoxin"] == 1
    # a new review covers the correction
    r = await signed(client, review_url(panel_id), {"comment": "correction checked"}, REVIEWER)
    assert r.status_code == 201, r.text
    panel = r.json()
    assert panel["review_status"] == "current"
    assert [(v["current"], v["results"]["endotoxin"]) for v in panel["reviews"]] == [
        (False, 1),
        (True, 2),
    ]
    # the panel's record: its entries (performed) and both reviews, all verified
    meanings = [s["meaning"] for s in panel["signatures"]]
    assert meanings.count("reviewed") == 2 and meanings.count("performed") == 11
    async with harness.kit.uow() as uow:
        report = await verify(uow.session)
    assert report.ok, report.findings


@pytest.mark.requirement("21CFR11.50(a)", "EU-Annex11.14(c)", "21CFR11.50(b)")
async def test_the_panel_shows_its_signatures_in_the_site_s_time_zone(
    harness: ServiceHarness, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("V2V_SIGNING_TIME_ZONE", "Europe/Berlin")
    harness.kit._signing = None  # settings are read when the gate is made
    panel_id = await evaluated_panel(harness, client)
    await signed(client, review_url(panel_id), {}, REVIEWER)
    decided = await signed(
        client, "/lots/lot-1/decision", {"decision": "reject", "reason": "label"}, QA
    )
    assert decided.status_code == 201, decided.text
    [panel] = (await client.get("/panels", params={"lot_id": "lot-1"})).json()
    viability = next(s for s in panel["signatures"] if "test viability" in s["statement"])
    assert viability["signer_name"] == "Test u-analyst"
    assert viability["signed_at"].endswith("Z")  # UTC, and the site's time beside it
    assert viability["signed_at_site"].endswith(("CET", "CEST"))
    decision = panel["decision"]["signature"]
    assert (decision["meaning"], decision["signer_id"]) == ("rejected", "u-qa")
