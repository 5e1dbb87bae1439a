"""Conditional release (tests the specification allows pending at release), its outcome when
the pending results land, the release package's blockers and the QP's certification."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import InfusionRecorded
from v2v_events.contracts.holds import HoldPlaced
from v2v_events.contracts.qc import DeviationOpened, LotReleased, LotReleaseFinalized
from v2v_qc.adapters.config import load_specs
from v2v_qc.bootstrap import build
from v2v_qc.domain.release_policy import ReleasePolicy, SiteRelease
from v2v_qc.domain.spec import DoseTest, Spec
from v2v_qc.settings import QcSettings
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock, as_user, signed

from .support import (
    ANALYST,
    COI,
    QA,
    blockers,
    order_panel,
    post_all,
    post_result,
    problem,
    qc_review,
    review_trail,
)
from .support import release_package as package

QP = as_user("u-qp-quentin", "qualified-person", name="Quentin Person")
STERILITY = ("sterility",)


async def conditional(
    c: httpx.AsyncClient, pending: list[str], headers: dict[str, str] = QA
) -> httpx.Response:
    body = {"decision": "conditional-release", "reason": "14-day sterility pending"}
    return await signed(c, "/lots/lot-1/decision", {**body, "pending_tests": pending}, headers)


# --- the specification's rule -----------------------------------------------------------


def test_the_specification_names_the_tests_that_may_be_pending() -> None:
    spec = load_specs().current("S1234")
    assert spec.not_pendable(["sterility", "mycoplasma"]) == []
    assert spec.not_pendable(["sterility", "potency", "nope"]) == ["potency", "nope"]
    dose = next(t for t in spec.tests if isinstance(t, DoseTest))
    raw = spec.model_dump()
    raw["tests"] = [
        {**t, "may_be_pending_at_release": True} if t["code"] == dose.code else t
        for t in raw["tests"]
    ]
    with pytest.raises(ValueError, match="the dose is never pending"):
        Spec.model_validate(raw)


# --- the service ------------------------------------------------------------------------


@pytest.mark.requirement("EU-PartIV.11.3.2")
async def test_conditional_release_becomes_final_when_sterility_lands_negative(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id, skip=STERILITY)
    assert blockers(await package(client)) == ["audit-trail-review-missing"]
    assert (await review_trail(client)).status_code == 201
    shown = await package(client)
    assert blockers(shown) == []
    results = shown["results"]
    assert isinstance(results, list)
    assert [r["code"] for r in results if r["value"] is None] == ["sterility"]
    problem(await signed(client, "/lots/lot-1/decision", {"decision": "release", "reason": "r"},
                         QA), 409, "panel-not-evaluated")  # fmt: skip

    r = await conditional(client, ["sterility"])
    assert r.status_code == 201, r.text
    assert (r.json()["decision"], r.json()["meaning"]) == (
        "conditional-release",
        "conditionally-released",
    )
    assert r.json()["signature"]["meaning"] == "conditionally-released"
    [released] = await harness.published(LotReleased)
    assert released.conditional and released.pending_tests == ["sterility"]
    assert released.meaning == "conditionally-released"
    cert = (await client.get(f"/certificates/{released.certificate_id}")).json()
    assert cert["conditional"] and "sterility" not in [x["code"] for x in cert["results"]]

    assert (await post_result(client, panel_id, "sterility", "no growth")).status_code == 201
    # final only once a second person, the QC reviewer, has reviewed the late result
    assert await harness.published(LotReleaseFinalized) == []
    shown = await package(client)
    assert shown["release_finalized"] is False
    qc_review_shown = shown["qc_review"]
    assert isinstance(qc_review_shown, dict)
    assert qc_review_shown["changed_since"] == ["sterility"]
    assert (await qc_review(client, panel_id)).status_code == 201
    [final] = await harness.published(LotReleaseFinalized)
    assert (final.lot_id, final.tests, final.certificate_id) == (
        "lot-1",
        ["sterility"],
        released.certificate_id,
    )
    assert (final.actor.user_id, final.actor.role) == ("u-reviewer", "qc-reviewer")
    assert await harness.published(DeviationOpened) == []
    assert (await client.get(f"/panels/{panel_id}")).json()["status"] == "in-specification"
    assert (await package(client))["release_finalized"] is True
    # nothing more is awaited: a further result is refused, the lot is decided
    late = {"correction_reason": "re-read", "reason_code": "instrument-error"}
    r = await post_result(client, panel_id, "sterility", "no growth", **late)
    problem(r, 409, "lot-already-decided")


async def test_a_conditional_release_refuses_what_the_specification_does_not_allow(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id, skip=("sterility", "mycoplasma"))
    assert (await review_trail(client)).status_code == 201
    body = problem(await conditional(client, ["sterility", "potency"]), 422)
    assert body["type"].endswith("test-may-not-be-pending") and body["test_codes"] == ["potency"]
    body = problem(await conditional(client, ["sterility"]), 409, "panel-not-evaluated")
    assert body["pending"] == ["mycoplasma"]
    body = {"decision": "conditional-release", "reason": "r"}
    r = await client.post("/lots/lot-1/decision", json=body, headers=QA)
    problem(r, 422)  # no pending tests listed
    assert (await post_result(client, panel_id, "mycoplasma", "negative")).status_code == 201
    assert (await post_result(client, panel_id, "sterility", "no growth")).status_code == 201
    body = problem(await conditional(client, ["sterility"]), 422, "test-not-pending")
    assert await harness.published(LotReleased) == []  # nothing released by any of these


@pytest.mark.requirement("EU-PartIV.11.3.2")
async def test_a_positive_sterility_opens_a_critical_deviation_notifies_and_holds_the_lot(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id, skip=STERILITY)
    assert (await review_trail(client)).status_code == 201
    assert (await conditional(client, ["sterility"])).status_code == 201

    assert (await post_result(client, panel_id, "sterility", "growth")).status_code == 201
    [opened] = await harness.published(DeviationOpened)
    assert (opened.lot_id, opened.classification, opened.source) == (
        "lot-1",
        "critical",
        "conditional-release-failed",
    )
    [hold] = await harness.published(HoldPlaced)
    dev_id = opened.deviation_id
    assert (hold.item_kind, hold.item_id, hold.deviation_id) == ("lot", "lot-1", dev_id)
    assert hold.coi == COI
    [n] = (await client.get(f"/notifications?deviation_id={dev_id}", headers=QA)).json()
    assert n["trigger"] == "conditional-release-failed" and n["state"] == "awaiting-acknowledgement"
    panel = (await client.get(f"/panels/{panel_id}")).json()
    assert (panel["status"], panel["deviation_id"]) == ("out-of-specification", dev_id)
    p = await package(client)
    assert p["conditional_release_failed"] is True and p["release_finalized"] is False
    assert await harness.published(LotReleaseFinalized) == []


async def test_a_lot_infused_before_its_sterility_fails_gets_the_deviation_but_no_hold(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id, skip=STERILITY)
    assert (await review_trail(client)).status_code == 201
    assert (await conditional(client, ["sterility"])).status_code == 201
    at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    infused = InfusionRecorded(
        coi=COI,
        infusion_id="inf-1",
        unit_ids=["bag-1"],
        lot_ids=["lot-1"],
        treatment_center="TC-1",
        thawed_at=at,
        infused_at=at + timedelta(minutes=30),
        thaw_to_infusion_minutes=30,
        thaw_to_infusion_limit_minutes=150,
        actor=Actor(user_id="u-nurse", role="infusion-nurse"),
    )
    await harness.deliver(infused, subject=COI, id="infused-1")
    assert (await post_result(client, panel_id, "sterility", "growth")).status_code == 201
    [opened] = await harness.published(DeviationOpened)
    assert opened.classification == "critical"
    assert await harness.published(HoldPlaced) == []
    url = f"/notifications?deviation_id={opened.deviation_id}"
    [n] = (await client.get(url, headers=QA)).json()
    assert n["trigger"] == "conditional-release-failed"


# --- the qualified person's certification -----------------------------------------------


@pytest.fixture
async def qp_site(tmp_path: Path) -> AsyncIterator[ServiceHarness]:
    settings = QcSettings(database_url=ServiceHarness.sqlite_url(tmp_path, "qc"))
    policy = ReleasePolicy(sites={"MS-1": SiteRelease(requires_qp_certification=True)})
    spec = build(
        settings, clock=StepClock(tick=timedelta(seconds=1)), ids=SeqIds("id"), release=policy
    )
    h = ServiceHarness(spec, headers=QA)
    await h.start()
    yield h
    await h.close()


@pytest.mark.requirement("EU-PartIV.11.2", "21CFR11.50(a)")
async def test_an_eu_site_releases_only_after_the_qualified_person_certified(
    qp_site: ServiceHarness,
) -> None:
    async with qp_site.client() as c:
        panel_id = await order_panel(qp_site)
        await post_all(c, panel_id, skip=STERILITY)
        assert (await review_trail(c)).status_code == 201
        shown = await package(c)
        assert shown["qp_certification_required"] is True
        assert blockers(shown) == ["qp-certification-required"]
        problem(await conditional(c, ["sterility"]), 409, "qp-certification-required")
        r = await signed(c, "/lots/lot-1/certification", {"statement": "GMP and MA met"}, QA)
        problem(r, 403)  # QA is not the qualified person
        r = await signed(c, "/lots/lot-1/certification", {"statement": "GMP and MA met"}, QP)
        assert r.status_code == 201, r.text
        assert r.json()["certified_by"]["role"] == "qualified-person"
        again = await signed(c, "/lots/lot-1/certification", {"statement": "again"}, QP)
        problem(again, 409, "lot-already-certified")
        # the certification is a record of QC's part: QA's trail review covers it
        assert blockers(await package(c)) == ["audit-trail-review-stale"]
        assert (await review_trail(c)).status_code == 201
        assert blockers(await package(c)) == []
        out = await conditional(c, ["sterility"])
        assert out.status_code == 201, out.text
        cert = (await c.get(f"/certificates/{out.json()['certificate_id']}")).json()
        assert cert["qp_certification"]["certified_by"]["user_id"] == "u-qp-quentin"
        assert {s["meaning"] for s in cert["signatures"]} == {
            "certified",
            "conditionally-released",
        }


async def test_the_release_package_is_for_qa_the_qp_and_auditors(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await order_panel(harness)
    r = await client.get("/lots/lot-1/release-package", headers=ANALYST)
    problem(r, 403)
    for who in (QA, QP, as_user("u-aud", "auditor")):
        assert (await client.get("/lots/lot-1/release-package", headers=who)).status_code == 200
    problem(await client.get("/lots/nope/release-package", headers=QA), 404, "lot-not-found")
