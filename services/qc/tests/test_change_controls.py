"""Change control through QC's API: raised by a supervisor, QA or QC reviewer; the impact
assessment; QA's signed approval (published for the service owning the document) or
rejection, never by who raised it; closed when the owning service says it acted; bad input,
transitions out of order, sites; a specification version QC makes effective itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from v2v_events.contracts.change_control import (
    ChangeControlApproved,
    ChangeControlImplemented,
    ChangeSubject,
)
from v2v_qc.adapters.config import PACKAGED_SPECS, load_specs
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, as_user, signed

from .change_control_support import ASSESSMENT, SUPERVISOR, assessed, raised, request
from .support import ANALYST, QA, REVIEWER, build_harness, problem

SITE = "MS-1"
MBR = {"kind": "mbr", "subject_id": "S2CART", "site": SITE, "version": 2}
PARIS_QA = as_user("u-qa-paris", "qa-reviewer", sites=["SITE-PARIS-1"])
PARIS_SUPERVISOR = as_user("u-sup-paris", "manufacturing-supervisor", sites=["SITE-PARIS-1"])


def implemented(cc_id: str, at: datetime) -> ChangeControlImplemented:
    return ChangeControlImplemented(
        change_control_id=cc_id,
        subject_kind=ChangeSubject.MBR,
        subject_id="S2CART",
        site=SITE,
        version=2,
        effective_at=at,
        implemented_at=at,
    )


@pytest.mark.requirement("EU-PartIV.6.2", "21CFR11.50(a)", "21CFR11.70", "EU-Annex11.10")
async def test_a_change_to_an_mbr_is_assessed_approved_signed_published_and_closed(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    r = await client.post("/change-controls", json=request(**MBR), headers=SUPERVISOR)
    assert r.status_code == 201, r.text
    view = r.json()
    cc_id = view["change_control_id"]
    assert (view["state"], view["subject"], view["raised_by"]) == (
        "raised",
        "MBR S2CART at MS-1 v2",
        {"user_id": "u-supervisor", "role": "manufacturing-supervisor"},
    )
    url = f"/change-controls/{cc_id}"
    # approval waits for the impact assessment (refused before anyone is asked to sign)
    problem(
        await client.post(f"{url}/approval", json={}, headers=QA),
        409,
        "change-control-not-assessed",
    )
    r = await client.post(f"{url}/impact-assessment", json=ASSESSMENT, headers=SUPERVISOR)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["assessment"]["risk_level"]) == ("assessed", "medium")

    shown = problem(await client.post(f"{url}/approval", json={"comment": "go"}, headers=QA), 428)
    content = shown["content"]
    assert (content["meaning"], content["record"]["id"]) == ("approved", cc_id)
    assert content["statement"] == (
        f"I approve change control {cc_id}: MBR S2CART at MS-1 v2 becomes effective."
    )
    assert content["values"] == {
        "change_control_id": cc_id,
        "subject_kind": "mbr",
        "subject_id": "S2CART",
        "site": SITE,
        "version": 2,
        "risk_level": "medium",
        "comment": "go",
    }
    assert await harness.published(ChangeControlApproved) == []  # nothing before signing
    r = await signed(client, f"{url}/approval", {"comment": "go"}, QA)
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["state"], view["approved_by"], view["approval_comment"]) == (
        "approved",
        {"user_id": "u-qa", "role": "qa-reviewer"},
        "go",
    )
    [sig] = view["signatures"]
    assert (sig["meaning"], sig["signer_id"]) == ("approved", "u-qa")

    [published] = await harness.published(ChangeControlApproved)
    assert published.model_dump(mode="json") == {
        "change_control_id": cc_id,
        "subject_kind": "mbr",
        "subject_id": "S2CART",
        "site": SITE,
        "version": 2,
        "description": request(**MBR)["description"],
        "approved_at": view["approved_at"].replace("+00:00", "Z"),
        "actor": {"user_id": "u-qa", "role": "qa-reviewer"},
    }
    [(topic, env)] = [
        (t, e) for t, e in await harness.outbox() if e.type.endswith("change-control.approved")
    ]
    assert (topic, env.subject) == ("v2v.qc.events", "mbr:S2CART@MS-1")

    # batch made the version effective and says so: the change control is closed; again:
    # nothing changes; a report of a change control QC does not know changes nothing
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    for n in (1, 2):
        outcome = await harness.deliver(
            implemented(cc_id, at), subject="mbr:S2CART@MS-1", id=f"i-{n}"
        )
        assert outcome is Outcome.PROCESSED
    assert await harness.deliver(implemented("CC-NONE", at), subject="k") is Outcome.PROCESSED
    view = (await client.get(url)).json()
    assert (view["state"], view["implemented_by"], view["effective_at"]) == (
        "implemented",
        "batch",
        "2026-11-25T09:00:00Z",
    )
    trail = (await client.get("/audit-trail", params={"record": cc_id}, headers=QA)).json()
    assert [e["event_type"] for e in trail["entries"]] == [
        "qc.change-control.raised",
        "qc.change-control.assessed",
        "qc.change-control.approved",
        "v2v.signature.recorded",
        "qc.change-control.implemented",
    ]


@pytest.mark.requirement("21CFR11.10(g)", "EU-PartIV.6.2")
async def test_who_raised_a_change_does_not_decide_it_and_only_qa_decides(
    client: httpx.AsyncClient,
) -> None:
    cc_id = await assessed(client, QA, **MBR)
    url = f"/change-controls/{cc_id}"
    r = await signed(client, f"{url}/approval", {}, QA)
    problem(r, 403, "approval-by-author")
    r = await signed(client, f"{url}/rejection", {"reason": "no"}, QA)
    problem(r, 403, "rejection-by-author")
    # another QA reviewer signs on the raiser's session: the signer decides, not the session
    r = await signed(client, f"{url}/approval", {}, QA, signer="u-qa-2")
    assert r.status_code == 200, r.text
    assert r.json()["approved_by"]["user_id"] == "u-qa-2"
    for who in (SUPERVISOR, REVIEWER, ANALYST):
        assert (await client.post(f"{url}/approval", json={}, headers=who)).status_code == 403
    assert (
        await client.post("/change-controls", json=request(), headers=ANALYST)
    ).status_code == 403
    r = await client.post("/change-controls", json=request(version=3), headers=REVIEWER)
    assert r.status_code == 201, r.text  # QC's reviewer raises a specification change


@pytest.mark.requirement("EU-PartIV.6.2", "21CFR11.50(a)")
async def test_a_rejected_change_takes_no_effect_and_a_new_one_may_be_raised(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    cc_id = await raised(client, **MBR)
    url = f"/change-controls/{cc_id}"
    again = await client.post("/change-controls", json=request(**MBR), headers=SUPERVISOR)
    assert problem(again, 409, "change-control-exists")["change_control_id"] == cc_id
    shown = problem(await client.post(f"{url}/rejection", json={"reason": "x"}, headers=QA), 428)
    assert shown["content"]["meaning"] == "rejected"
    r = await signed(client, f"{url}/rejection", {"reason": "validation missing"}, QA)
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["state"], view["rejection_reason"], view["signatures"][0]["meaning"]) == (
        "rejected",
        "validation missing",
        "rejected",
    )
    for act, body in (("approval", {}), ("rejection", {"reason": "x"})):
        refused = problem(await client.post(f"{url}/{act}", json=body, headers=QA), 409)
        assert refused["type"].endswith("change-control-decided")
    r = await client.post(f"{url}/impact-assessment", json=ASSESSMENT, headers=SUPERVISOR)
    problem(r, 409, "change-control-decided")
    assert await harness.published(ChangeControlApproved) == []
    assert await raised(client, **MBR) != cc_id  # the rejected one no longer blocks


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({k: v for k, v in request().items() if k != "description"}, 422, "validation"),
        ({**request(), "version": 0}, 422, "validation"),
        ({**request(), "subject_kind": "recipe"}, 422, "validation"),
        ({**request(), "extra": 1}, 422, "validation"),
        (request(kind="mbr", subject_id="S2CART"), 422, "site-required"),
        ({**request(), "site": SITE}, 422, "site-not-applicable"),
        (request(subject_id="SPEC-NONE"), 422, "spec-unknown"),
        (request(kind="sop", subject_id="SOP 12/a"), 422, "invalid-subject-id"),
    ],
)
async def test_bad_requests_are_refused(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, code: str
) -> None:
    problem(await client.post("/change-controls", json=body, headers=SUPERVISOR), status, code)


async def test_a_bad_assessment_or_an_unknown_change_control_is_refused(
    client: httpx.AsyncClient,
) -> None:
    cc_id = await raised(client)
    url = f"/change-controls/{cc_id}/impact-assessment"
    for bad in (
        {k: v for k, v in ASSESSMENT.items() if k != "risk_level"},
        {**ASSESSMENT, "risk_level": "tolerable"},
        {**ASSESSMENT, "training_needed": ""},
    ):
        problem(await client.post(url, json=bad, headers=SUPERVISOR), 422, "validation")
    assert (await client.get(f"/change-controls/{cc_id}")).json()["state"] == "raised"
    problem(await client.get("/change-controls/CC-NONE"), 404, "change-control-not-found")
    r = await client.post("/change-controls/CC-NONE/impact-assessment", json=ASSESSMENT)
    problem(r, 404, "change-control-not-found")


async def test_an_mbrs_change_control_belongs_to_its_site(client: httpx.AsyncClient) -> None:
    cc_id = await assessed(client, **MBR)
    spec_cc = await raised(client)
    r = await client.post("/change-controls", json=request(**MBR), headers=PARIS_SUPERVISOR)
    problem(r, 403, "site-not-yours")
    problem(await client.get(f"/change-controls/{cc_id}", headers=PARIS_QA), 404)
    r = await client.post(f"/change-controls/{cc_id}/approval", json={}, headers=PARIS_QA)
    problem(r, 404, "change-control-not-found")
    listed = (await client.get("/change-controls", headers=PARIS_QA)).json()
    assert [c["change_control_id"] for c in listed] == [spec_cc]  # every site's document
    mine = (await client.get("/change-controls", params={"subject_kind": "mbr"})).json()
    assert [c["change_control_id"] for c in mine] == [cc_id]
    found = await client.get("/change-controls", params={"state": "assessed", "version": 2})
    assert [c["change_control_id"] for c in found.json()] == [cc_id]
    # a QA of another site may not sign for it (on a session that sees it)
    r = await signed(client, f"/change-controls/{cc_id}/approval", {}, QA, signer="u-qa-paris")
    problem(r, 403, "signer-not-allowed")


async def test_qc_makes_an_approved_specification_version_effective_itself(
    tmp_path: Path,
) -> None:
    specs_dir = tmp_path / "specs"
    specs_dir.mkdir()
    v1 = json.loads((PACKAGED_SPECS / "S1234.v1.json").read_text())
    (specs_dir / "S1234.v1.json").write_text(json.dumps(v1))
    (specs_dir / "S1234.v2.json").write_text(json.dumps({**v1, "version": 2}))
    h = build_harness(tmp_path, load_specs(specs_dir))
    await h.start()
    try:
        async with h.client() as c:
            unconfigured = await assessed(c, version=3)
            r = await signed(c, f"/change-controls/{unconfigured}/approval", {}, QA)
            problem(r, 404, "spec-not-found")
            assert (await c.get(f"/change-controls/{unconfigured}")).json()["state"] == "assessed"
            cc_id = await assessed(c, version=2)
            r = await signed(c, f"/change-controls/{cc_id}/approval", {}, QA)
            assert r.status_code == 200, r.text
            assert (r.json()["state"], r.json()["implemented_by"]) == ("implemented", "qc")
            assert (await c.get("/specs/S1234")).json()["version"] == 2
        [published] = await h.published(ChangeControlApproved)
        assert (published.subject_kind, published.version) == (ChangeSubject.SPECIFICATION, 2)
    finally:
        await h.close()
