"""Master batch records through the API: authored as data, validated (the field named),
reviewed, approved with QA's signature (never by an author), made effective by their
change control (one per product and site, the one before superseded), retired; the seed
files load as drafts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from v2v_batch.application.load_mbrs import SEEDS, load_seed, read_seed, seed_files
from v2v_batch.domain.mbr import MasterBatchRecord, mbr_stream
from v2v_runtime.testing import ServiceHarness, as_user, signed

from .mbr_support import (
    AUTHOR,
    AUTHOR_ID,
    CONTENT,
    PRODUCT,
    QA,
    approve_change,
    content,
    effective_mbr,
    param,
    step,
    version_url,
)
from .support import OPERATOR, SITE, assert_problem

PARIS_QA = as_user("u-mbr-qa-paris", "qa-reviewer", sites=["SITE-PARIS-1"], name="Pia Paris")


async def draft(client: httpx.AsyncClient, body: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post(
        "/mbrs",
        json={"product_code": PRODUCT, "site": SITE, "content": body or CONTENT},
        headers=AUTHOR,
    )


def with_param(p: dict[str, Any], **more: Any) -> dict[str, Any]:
    """The test MBR with one more step holding parameter ``p``."""
    body = content()
    body["operations"][0]["steps"].append(step("extra", p, **more))
    return body


@pytest.mark.requirement("EU-PartIV.9", "21CFR11.50(a)")
async def test_a_version_is_drafted_reviewed_approved_with_qa_signature_and_made_effective(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    r = await draft(client)
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert (v1["version"], v1["status"], v1["drafted_by"]["user_id"]) == (1, "draft", AUTHOR_ID)
    assert [s["step_id"] for o in v1["content"]["operations"] for s in o["steps"]] == [
        "receipt",
        "selection",
        "harvest",
        "freezing",
    ]
    url = version_url(1)
    # Not approvable in draft; submitted, it is in review.
    assert_problem(await signed(client, f"{url}/approval", {}, QA), 409, "mbr-status")
    r = await client.post(f"{url}/submission", json={}, headers=AUTHOR)
    assert r.json()["status"] == "in-review"
    # The approval shows what QA signs, then records the signature (meaning approved).
    shown = assert_problem(await client.post(f"{url}/approval", json={}, headers=QA), 428)
    assert shown["content"]["values"]["content_hash"] == v1["content_hash"]
    assert shown["content"]["meaning"] == "approved"
    r = await signed(client, f"{url}/approval", {}, QA)
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["status"] == "approved"
    assert approved["approved_by"]["role"] == "qa-reviewer"
    assert [s["meaning"] for s in approved["signatures"]] == ["approved"]
    assert approved["signatures"][0]["signer_name"] == "Quentin QA"
    # QA's approval alone does not make it effective (no act does): its change control does
    assert (await client.post(f"{url}/effective", json={}, headers=QA)).status_code == 404
    await approve_change(harness, 1)
    r = await client.get(url)
    assert (r.json()["status"], r.json()["change_control_id"]) == ("effective", f"CC-{PRODUCT}-1")
    listed = (await client.get("/mbrs", params={"product_code": PRODUCT})).json()
    assert [(v["version"], v["status"], v["change_control_id"]) for v in listed] == [
        (1, "effective", f"CC-{PRODUCT}-1")
    ]


async def test_one_effective_version_per_product_and_site_the_one_before_is_superseded(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    assert await effective_mbr(harness, client) == 1
    changed = content(title="Test CAR-T, longer hold")
    assert await effective_mbr(harness, client, changed) == 2
    listed = (await client.get("/mbrs", params={"product_code": PRODUCT, "site": SITE})).json()
    assert [(v["version"], v["status"]) for v in listed] == [(1, "superseded"), (2, "effective")]
    r = await client.get(version_url(1))
    assert r.json()["end_reason"] == "superseded by version 2"


async def test_one_version_at_a_time_is_authored_and_only_drafts_are_revised(
    client: httpx.AsyncClient,
) -> None:
    await draft(client)
    assert_problem(await draft(client), 409, "mbr-version-open")
    body = {"content": content(title="Renamed")}
    r = await client.post(f"{version_url(1)}/revision", json=body, headers=AUTHOR)
    assert r.json()["title"] == "Renamed"
    await client.post(f"{version_url(1)}/submission", json={}, headers=AUTHOR)
    r = await client.post(f"{version_url(1)}/revision", json={"content": CONTENT}, headers=AUTHOR)
    assert_problem(r, 409, "mbr-status")
    # QA returns it to draft with a reason; the author revises it again.
    r = await client.post(f"{version_url(1)}/return", json={"reason": "hold times"}, headers=QA)
    assert r.json()["status"] == "draft"
    assert "hold times" in r.json()["history"][0]


async def test_an_author_never_approves_their_own_version(client: httpx.AsyncClient) -> None:
    """Even with the QA role, and even signing on QA's session."""
    author_qa = as_user("u-mbr-author-qa", "manufacturing-supervisor", "qa-reviewer", name="Ann")
    r = await client.post(
        "/mbrs",
        json={"product_code": PRODUCT, "site": SITE, "content": CONTENT},
        headers=author_qa,
    )
    assert r.status_code == 201
    await client.post(f"{version_url(1)}/submission", json={}, headers=author_qa)
    r = await signed(client, f"{version_url(1)}/approval", {}, author_qa)
    assert_problem(r, 403, "approval-by-author")
    r = await signed(client, f"{version_url(1)}/approval", {}, QA, signer="u-mbr-author-qa")
    assert_problem(r, 403, "approval-by-author")
    assert (await client.get(version_url(1))).json()["status"] == "in-review"


@pytest.mark.parametrize(
    ("p", "code", "field"),
    [
        (param("x", lower_limit=10, upper_limit=5), "mbr-limits-overlap", "lower_limit"),
        (param("x", lower_limit=5, upper_limit=5), "mbr-limits-overlap", "lower_limit"),
        (param("x", target=2, lower_limit=5, upper_limit=9), "mbr-target-outside-limits", "target"),
        (param("x", "text", upper_limit=5), "mbr-limit-not-numeric", "upper_limit"),
        (param("x", "boolean", unit="%"), "mbr-unit-not-numeric", "unit"),
        (param("x", critical=True), "mbr-critical-without-limits", "critical"),
        (param("x", "choice"), "mbr-choices-invalid", "choices"),
        (param("x", choices=["a"]), "mbr-choices-invalid", "choices"),
    ],
)
async def test_an_mbr_breaking_a_rule_is_refused_naming_the_field(
    client: httpx.AsyncClient, p: dict[str, Any], code: str, field: str
) -> None:
    r = await draft(client, with_param(p, signatures="performed-and-verified"))
    problem = assert_problem(r, 422, code)
    assert problem["field"] == f"operations[0].steps[2].parameters[0].{field}"
    assert (await client.get("/mbrs")).json() == []  # nothing recorded


async def test_a_critical_parameter_needs_a_verified_step_and_ids_are_unique(
    client: httpx.AsyncClient,
) -> None:
    critical = param("x", lower_limit=1, critical=True)
    problem = assert_problem(await draft(client, with_param(critical)), 422)
    assert problem["type"].endswith("mbr-critical-step-unverified")
    assert problem["field"] == "operations[0].steps[2].signatures"
    twice = content()
    twice["operations"][1]["steps"][0]["step_id"] = "receipt"
    problem = assert_problem(await draft(client, twice), 422, "mbr-duplicate-step")
    assert problem["field"] == "operations[1].steps[0].step_id"
    same = with_param(param("bag_intact", "boolean"))
    same["operations"][0]["steps"][2]["parameters"].append(param("bag_intact", "boolean"))
    problem = assert_problem(await draft(client, same), 422, "mbr-duplicate-parameter")
    assert problem["field"] == "operations[0].steps[2].parameters[1].name"


async def test_an_unknown_parameter_type_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    problem = assert_problem(
        await draft(client, with_param(param("x", "colour"))), 422, "validation"
    )
    locs = [e["loc"] for e in problem["errors"]]
    assert ["body", "content", "operations", 0, "steps", 2, "parameters", 0, "type"] in locs


async def test_roles_and_sites(client: httpx.AsyncClient) -> None:
    """The supervisor authors, QA approves; a specialist does neither; QA of another site
    does not see the record."""
    body = {"product_code": PRODUCT, "site": SITE, "content": CONTENT}
    assert (await client.post("/mbrs", json=body, headers=OPERATOR)).status_code == 403
    assert (await client.post("/mbrs", json=body, headers=QA)).status_code == 403
    await draft(client)
    await client.post(f"{version_url(1)}/submission", json={}, headers=AUTHOR)
    r = await signed(client, f"{version_url(1)}/approval", {}, AUTHOR)
    assert r.status_code == 403
    assert_problem(await client.get(version_url(1), headers=PARIS_QA), 404)
    r = await client.post(f"{version_url(1)}/return", json={"reason": "x"}, headers=PARIS_QA)
    assert_problem(r, 403, "site-not-yours")


async def test_retiring_the_effective_version_refuses_new_batches_of_the_product(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    from .mbr_support import open_mbr_batch

    await effective_mbr(harness, client)
    r = await client.post(f"{version_url(1)}/retirement", json={"reason": "withdrawn"}, headers=QA)
    assert r.json()["status"] == "retired"
    with pytest.raises(AssertionError, match="no-effective-mbr"):
        await open_mbr_batch(client, harness)


@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.name)
def test_the_seed_files_are_valid_mbrs(path: Any) -> None:
    seed = read_seed(path)
    steps = [s.step_id for s in seed.content.steps]
    assert len(steps) >= 8
    critical = [p for s in seed.content.steps for p in s.parameters if p.critical]
    assert critical and all(
        s.verified for s in seed.content.steps if any(p.critical for p in s.parameters)
    )


async def test_the_car_t_seed_has_the_domain_steps() -> None:
    seed = read_seed(next(SEEDS.glob("S2CART*.json")))
    steps = [s.step_id for s in seed.content.steps]
    for expected in (
        "cd4-cd8-selection",
        "activation",
        "transduction",
        "expansion",
        "bead-removal",
        "harvest",
        "wash-concentrate",
        "formulation",
        "fill",
        "qc-sampling",
        "controlled-rate-freezing",
        "ln2-transfer",
    ):
        assert expected in steps
    transduction = seed.content.step("transduction")
    assert transduction is not None
    assert [m.material_code for m in transduction.materials] == ["LV-CD19-CAR"]
    moi = transduction.parameter("moi")
    assert moi is not None and moi.critical


async def test_seeds_load_as_drafts_once(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    for _ in range(2):
        for path in seed_files():
            async with harness.kit.uow() as uow:
                await load_seed(uow, read_seed(path), SITE)
    listed = (await client.get("/mbrs", params={"site": SITE})).json()
    assert sorted((v["product_code"], v["version"], v["status"]) for v in listed) == [
        ("S2CART", 1, "draft"),
        ("S2TIL1", 1, "draft"),
    ]
    async with harness.kit.uow() as uow:
        mbr = await uow.repository(MasterBatchRecord).get(mbr_stream("S2CART", SITE))
    assert mbr.versions[1].drafted_by.user_id == "v2v-mbr-seed"
