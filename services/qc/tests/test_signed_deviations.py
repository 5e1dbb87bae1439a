"""QA's signed acts on a deviation (meaning approved): its classification — the opener's
class is a proposal — and its closure; the signer carried, segregation of duties, whether
the deviation blocks release, and what the deviation views show."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from v2v_runtime.testing import ServiceHarness, as_user, signed

from .support import (
    ANALYST,
    COI,
    QA,
    QA_2,
    investigated,
    no_capa,
    order_panel,
    post_all,
    problem,
    review_trail,
)

AUDITOR = as_user("u-auditor", "auditor")
RELEASE = {"decision": "release", "reason": "record, results and deviations reviewed"}


async def opened(
    harness: ServiceHarness,
    client: httpx.AsyncClient,
    proposed: str = "major",
    by: dict[str, str] = ANALYST,
) -> str:
    """An evaluated, in-specification lot-1 with a deviation opened (``proposed`` class)."""
    panel_id = await order_panel(harness)
    await post_all(client, panel_id)
    body = {
        "coi": COI,
        "lot_id": "lot-1",
        "classification": proposed,
        "source": "temperature-excursion",
        "description": "dewar above -150 C for 20 min",
    }
    r = await client.post("/deviations", json=body, headers=by)
    assert r.status_code == 201, r.text
    assert (r.json()["proposed_classification"], r.json()["classified"]) == (proposed, False)
    return str(r.json()["deviation_id"])


def classification(kind: str, rationale: str = "logger fault") -> dict[str, Any]:
    return {"classification": kind, "rationale": rationale}


@pytest.mark.requirement(
    "21CFR11.50(a)", "21CFR11.70", "21CFR11.10(e)", "EU-PartIV.11.4", "EU-Annex11.14(a)"
)
async def test_qa_classifies_a_deviation_signed(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    deviation_id = await opened(harness, client, "major")
    url = f"/deviations/{deviation_id}/classification"
    shown = problem(await client.post(url, json=classification("minor"), headers=QA), 428)
    content = shown["content"]
    assert (content["meaning"], content["record"]["id"]) == ("approved", deviation_id)
    assert content["values"] == {
        "deviation_id": deviation_id,
        "proposed_classification": "major",
        "classification": "minor",
        "rationale": "logger fault",
    }
    # nothing was classified before the signature: the major one still blocks release
    problem(await signed(client, "/lots/lot-1/decision", RELEASE, QA), 409, "open-deviation")
    r = await signed(client, url, classification("minor", "logger fault, product cold"), QA)
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["classification"], view["proposed_classification"], view["classified"]) == (
        "minor",
        "major",
        True,
    )
    assert view["classified_by"] == {"user_id": "u-qa", "role": "qa-reviewer"}
    assert view["classification_rationale"] == "logger fault, product cold"
    [sig] = view["signatures"]
    assert (sig["meaning"], sig["signer_id"], sig["signer_name"]) == (
        "approved",
        "u-qa",
        "Test u-qa",
    )
    assert "as minor" in sig["statement"]
    # classified minor, it no longer blocks the release
    assert (await review_trail(client)).status_code == 201
    r = await signed(client, "/lots/lot-1/decision", RELEASE, QA)
    assert r.status_code == 201, r.text
    # the audit trail: old -> new class, and why
    params = {"coi": COI, "type": "deviation.classified"}
    trail = await client.get("/audit-trail", params=params, headers=AUDITOR)
    [entry] = trail.json()["entries"]
    assert entry["changes"] == [
        {"field": "classification", "old": "major", "new": "minor"},
        {"field": "state", "old": "opened", "new": "triaged"},
    ]
    assert (entry["reason"], entry["user_id"]) == ("logger fault, product cold", "u-qa")


@pytest.mark.requirement("EU-PartIV.11.3.1", "EU-PartIV.11.4")
async def test_a_deviation_classified_critical_blocks_release(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    deviation_id = await opened(harness, client, "minor")
    url = f"/deviations/{deviation_id}/classification"
    r = await signed(client, url, classification("critical", "product thawed"), QA)
    assert r.status_code == 200, r.text
    body = problem(await signed(client, "/lots/lot-1/decision", RELEASE, QA), 409)
    assert body["deviation_ids"] == [deviation_id]
    r = await signed(client, url, classification("critical", "again"), QA)
    problem(r, 409, "deviation-already-classified")
    deviation = (await client.get(f"/deviations/{deviation_id}")).json()
    assert [s["meaning"] for s in deviation["signatures"]] == ["approved"]


@pytest.mark.requirement("21CFR11.10(g)", "21CFR11.100(a)", "EU-PartIV.11.4")
async def test_who_opened_a_deviation_neither_classifies_nor_closes_it(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    deviation_id = await opened(harness, client, "major", by=QA)
    url = f"/deviations/{deviation_id}"
    r = await signed(client, f"{url}/classification", classification("major"), QA)
    problem(r, 403, "classification-by-author")
    # the opener signing on another reviewer's tablet is still the opener
    r = await signed(client, f"{url}/classification", classification("major"), QA_2, signer="u-qa")
    problem(r, 403, "classification-by-author")
    # nor does anyone close it before it was triaged, contained and investigated: refused
    # before anyone is asked to sign, naming where it is and what may come next
    r = await client.post(f"{url}/close", json=no_capa("no impact"), headers=QA_2)
    body = problem(r, 409, "deviation-out-of-order")
    assert (body["state"], body["allowed_next"]) == ("opened", ["classification"])
    await investigated(client, url, "major", headers=QA_2)
    r = await signed(client, f"{url}/close", no_capa("no impact"), QA)
    problem(r, 403, "closure-by-author")
    # only QA signs a closure
    problem(await signed(client, f"{url}/close", no_capa("x"), ANALYST), 403, "role-not-allowed")
    r = await signed(client, f"{url}/close", no_capa("x"), QA_2, signer="u-analyst")
    problem(r, 403, "signer-not-allowed")


@pytest.mark.requirement("21CFR11.50(a)", "21CFR11.200(a)(2)", "EU-PartIV.11.4", "21CFR11.50(b)")
async def test_qa_closes_a_deviation_signed_by_who_authenticates(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    deviation_id = await opened(harness, client, "major")
    url = f"/deviations/{deviation_id}"
    await investigated(client, url, "major")
    closing = no_capa("investigated: product stayed below -150 C")
    shown = problem(await client.post(f"{url}/close", json=closing, headers=QA), 428)
    assert shown["content"]["meaning"] == "approved"
    assert shown["content"]["values"] == {"deviation_id": deviation_id, **closing}
    assert shown["content"]["statement"].startswith(
        f"I approve the closure of deviation {deviation_id}"
    )
    # a second QA reviewer signs on the first one's session: the closure is theirs
    r = await signed(client, f"{url}/close", closing, QA, signer="u-qa-2")
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["state"], view["closed_by"]["user_id"]) == ("closed", "u-qa-2")
    assert [(s["meaning"], s["signer_id"]) for s in view["signatures"]] == [
        ("approved", "u-qa"),
        ("approved", "u-qa-2"),
    ]
    assert view["signatures"][1]["signer_name"] == "Quinn Second"
    [listed] = (await client.get("/deviations", params={"lot_id": "lot-1"})).json()
    assert listed == view
    r = await signed(client, f"{url}/close", closing, QA_2)
    assert problem(r, 409, "deviation-out-of-order")["allowed_next"] == []
