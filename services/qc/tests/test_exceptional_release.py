"""Exceptional release of an out-of-specification lot through QC's API: the physician's
request (the treatment center's coordinator, signed), QA's risk assessment and decision
(signed), qc.lot.exceptionally-released, and the EU authority notification task (due 48 h
after the infusion custody records, tracked to done, listed when overdue); a US site needs
the expanded-access reference."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import InfusionRecorded
from v2v_events.contracts.exceptional_release import LotExceptionallyReleased, Region
from v2v_qc.bootstrap import build
from v2v_qc.settings import QcSettings
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock, as_user, signed

from .support import COI, QA, QA_2, READER, enrolled, order_panel, post_all, problem

COORDINATOR = as_user("u-coord-tc1", "treatment-center-coordinator", sites=("TC-1",), name="Cora")
ELSEWHERE = as_user("u-coord-2", "treatment-center-coordinator", sites=("TC-2",))
BASE = "/lots/lot-1/exceptional-release"
REQUEST = {
    "treatment_center": "TC-1",
    "physician_name": "Dr Ada Physician",
    "physician_id": "GMC-7654321",
    "justification": "no alternative therapy; viability 55 % still gives a clinical dose",
}
INFUSED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


async def oos_lot(
    harness: ServiceHarness, client: httpx.AsyncClient, lot_id: str = "lot-1"
) -> None:
    outcome = await harness.deliver(enrolled(), subject=COI, id=f"enrolled-{COI}")
    assert outcome in (Outcome.PROCESSED, Outcome.DUPLICATE)  # the patient's center: TC-1
    panel_id = await order_panel(harness, lot_id)
    await post_all(client, panel_id, {"viability": 55.0})


async def decide_recovery(client: httpx.AsyncClient, lot_id: str = "lot-1") -> None:
    body = {"decision": "exceptional-release", "reason": "physician asks; no new collection"}
    r = await signed(client, f"/lots/{lot_id}/recovery-decision", body, QA)
    assert r.status_code == 201, r.text


async def requested_and_assessed(client: httpx.AsyncClient) -> None:
    r = await signed(client, f"{BASE}/physician-request", REQUEST, COORDINATOR)
    assert r.status_code == 201, r.text
    body = {"assessment": "benefit outweighs the risk of a lower viability; infuse at once"}
    r = await signed(client, f"{BASE}/risk-assessment", body, QA)
    assert r.status_code == 201, r.text


def infusion(lot_id: str = "lot-1") -> InfusionRecorded:
    return InfusionRecorded(
        coi=COI,
        infusion_id="INF-1",
        unit_ids=["bag-1"],
        lot_ids=[lot_id],
        treatment_center="TC-1",
        thawed_at=INFUSED - timedelta(minutes=30),
        infused_at=INFUSED,
        actor=Actor(user_id="u-nurse", role="infusion-nurse"),
    )


@pytest.mark.requirement("EU-PartIV.11.5", "21CFR11.50(a)")
async def test_an_oos_lot_released_at_the_physicians_request_and_the_eu_task_tracked(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    # an in-specification lot is not released exceptionally
    panel_2 = await order_panel(harness, "lot-2")
    await post_all(client, panel_2)
    r = await signed(
        client, "/lots/lot-2/exceptional-release/physician-request", REQUEST, COORDINATOR
    )
    problem(r, 409, "lot-not-out-of-specification")

    await oos_lot(harness, client)
    decision = {"reason": "physician's request and risk assessment reviewed"}
    # nothing yet: the decision names everything missing, before anything is signed
    r = await client.post(f"{BASE}/decision", json=decision, headers=QA)
    body = problem(r, 409, "exceptional-release-incomplete")
    assert body["missing"] == ["recovery-decision", "physician-request", "risk-assessment"]
    r = await signed(client, f"{BASE}/risk-assessment", {"assessment": "x"}, QA)
    problem(r, 409, "physician-request-required")
    await decide_recovery(client)
    # the request: the coordinator of the patient's treatment center, signed (authored)
    problem(await signed(client, f"{BASE}/physician-request", REQUEST, ELSEWHERE), 403)
    # another center may not record it for its own: the patient's center is TC-1
    theirs = {**REQUEST, "treatment_center": "TC-2"}
    refused = problem(await signed(client, f"{BASE}/physician-request", theirs, ELSEWHERE), 422)
    assert (refused["type"].rsplit(":", 1)[1], refused["field"]) == (
        "not-patients-treatment-center",
        "treatment_center",
    )
    problem(await signed(client, f"{BASE}/physician-request", REQUEST, QA), 403)
    r = await signed(client, f"{BASE}/physician-request", REQUEST, COORDINATOR)
    assert r.status_code == 201, r.text
    view = r.json()
    assert (view["state"], view["request"]["physician_id"]) == ("requested", "GMC-7654321")
    assert [(s["meaning"], s["signer_id"]) for s in view["signatures"]] == [
        ("authored", "u-coord-tc1")
    ]
    again = await signed(client, f"{BASE}/physician-request", REQUEST, COORDINATOR)
    problem(again, 409, "physician-request-exists")
    r = await client.post(f"{BASE}/decision", json=decision, headers=QA)
    assert problem(r, 409, "exceptional-release-incomplete")["missing"] == ["risk-assessment"]
    body = {"assessment": "benefit outweighs the risk of a lower viability; infuse at once"}
    r = await signed(client, f"{BASE}/risk-assessment", body, QA)
    assert (r.status_code, r.json()["state"]) == (201, "assessed"), r.text

    r = await signed(client, f"{BASE}/decision", decision, QA_2)
    assert r.status_code == 201, r.text
    view = r.json()
    assert (view["state"], view["decision"]["region"]) == ("released", "EU")
    assert [s["meaning"] for s in view["signatures"]] == ["authored", "approved", "released"]
    assert view["authority_notification"]["state"] == "awaiting-infusion"
    [published] = await harness.published(LotExceptionallyReleased)
    assert (published.lot_id, published.coi, published.decision_ref) == ("lot-1", COI, "XR-lot-1")
    assert (published.actor.user_id, published.region) == ("u-qa-2", Region.EU)
    problem(
        await signed(client, f"{BASE}/decision", decision, QA), 409, "exceptional-release-decided"
    )
    # the lot's disposition is decided: no QA rejection (or release) of it afterwards
    reject = {"decision": "reject", "reason": "changed our mind"}
    refused = await signed(client, "/lots/lot-1/decision", reject, QA)
    assert problem(refused, 409, "lot-exceptionally-released")["decision_ref"] == "XR-lot-1"

    # custody records the infusion: the authority is owed a notification within 48 h
    assert await harness.deliver(infusion(), subject=COI, id="inf-1") is Outcome.PROCESSED
    assert await harness.deliver(infusion(), subject=COI, id="inf-1b") is Outcome.PROCESSED
    got = (await client.get("/exceptional-releases/lot-1", headers=QA)).json()
    task = got["authority_notification"]
    assert (task["due_at"], task["state"]) == ("2026-12-03T10:00:00Z", "due"), task
    late = INFUSED + timedelta(hours=49)
    overdue = await client.get(
        "/exceptional-releases", params={"overdue": "true", "as_of": late.isoformat()}, headers=QA
    )
    assert [x["lot_id"] for x in overdue.json()] == ["lot-1"]
    early = {"overdue": "true", "as_of": (INFUSED + timedelta(hours=47)).isoformat()}
    assert (await client.get("/exceptional-releases", params=early, headers=QA)).json() == []
    # the coordinator of the treatment center sees it too; another center does not
    assert (await client.get("/exceptional-releases/lot-1", headers=COORDINATOR)).status_code == 200
    problem(await client.get("/exceptional-releases/lot-1", headers=ELSEWHERE), 404)
    note = {"reference": "PEI-2026-00042"}  # sent now
    r = await client.post(f"{BASE}/authority-notification", json=note, headers=QA)
    assert r.status_code == 201, r.text
    task = r.json()["authority_notification"]
    assert (task["state"], task["reference"]) == ("done", "PEI-2026-00042")
    problem(
        await client.post(f"{BASE}/authority-notification", json=note, headers=QA),
        409,
        "authority-already-notified",
    )
    overdue = await client.get(
        "/exceptional-releases", params={"overdue": "true", "as_of": late.isoformat()}, headers=QA
    )
    assert overdue.json() == []


@pytest.fixture
async def us_harness(tmp_path: Path) -> AsyncIterator[ServiceHarness]:
    settings = QcSettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "qc"), site_regions={"MS-1": "US"}
    )
    spec = build(settings, clock=StepClock(tick=timedelta(seconds=1)), ids=SeqIds("id"))
    h = ServiceHarness(spec, headers=READER)
    await h.start()
    yield h
    await h.close()


@pytest.mark.requirement("EU-PartIV.11.5")
async def test_a_us_site_needs_the_expanded_access_reference_and_owes_no_eu_task(
    us_harness: ServiceHarness,
) -> None:
    async with us_harness.client() as client:
        await oos_lot(us_harness, client)
        await decide_recovery(client)
        await requested_and_assessed(client)
        decision = {"reason": "physician's request and risk assessment reviewed"}
        r = await client.post(f"{BASE}/decision", json=decision, headers=QA)
        problem(r, 422, "expanded-access-reference-required")
        r = await signed(
            client, f"{BASE}/decision", {**decision, "expanded_access_ref": "IND-123456"}, QA_2
        )
        assert r.status_code == 201, r.text
        assert (
            r.json()["decision"]["expanded_access_ref"],
            r.json()["authority_notification"],
        ) == (
            "IND-123456",
            None,
        )
        [published] = await us_harness.published(LotExceptionallyReleased)
        assert (published.region, published.expanded_access_ref) == (Region.US, "IND-123456")
        assert await us_harness.deliver(infusion(), subject=COI, id="inf-1") is Outcome.PROCESSED
        note = {"reference": "none"}
        r = await client.post(f"{BASE}/authority-notification", json=note, headers=QA)
        problem(r, 409, "no-authority-notification-task")
