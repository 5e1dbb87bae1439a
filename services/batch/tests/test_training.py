"""Training and qualification through HTTP and the Qualifications port: the SOP register, a
person's qualifications with expiry and revocation, training on an SOP version lapsing
when the next version's training is due, and who is qualified at a moment (403
not-qualified otherwise, naming why)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from v2v_batch.application.qualifications import Qualifications
from v2v_batch.domain.training import NotQualified
from v2v_events.contracts.change_control import ChangeControlImplemented as Implemented
from v2v_events.contracts.change_control import ChangeSubject, change_subject_key
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, as_user

from .mbr_support import change_approved
from .support import OPERATOR, OPERATOR_ID, VERIFIER, VERIFIER_ID, assert_problem, open_batch
from .test_equipment import CENTRIFUGE, clock, now, register, use

QA = as_user("u-training-qa", "qa-reviewer", name="Queenie QA")
SUPERVISOR = VERIFIER
SOP = "SOP-MFG-012"


def sop(version: int, effective_at: datetime, training_due_at: datetime) -> dict[str, Any]:
    return {
        "document_id": SOP,
        "version": version,
        "title": "CAR-T transduction with a lentiviral vector",
        "effective_at": effective_at.isoformat(),
        "training_due_at": training_due_at.isoformat(),
    }


async def grant(
    client: httpx.AsyncClient,
    user_id: str = OPERATOR_ID,
    headers: dict[str, str] = SUPERVISOR,
    **body: Any,
) -> httpx.Response:
    return await client.post(f"/people/{user_id}/qualifications", json=body, headers=headers)


async def is_qualified(
    client: httpx.AsyncClient, qualification: str, at: datetime, user_id: str = OPERATOR_ID
) -> dict[str, Any]:
    r = await client.get(
        f"/people/{user_id}/qualified",
        params={"qualification": qualification, "at": at.isoformat()},
        headers=OPERATOR,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def t(harness: ServiceHarness, days: float) -> datetime:
    return now(harness) + timedelta(days=days)


async def approve_sop(harness: ServiceHarness, version: int, document_id: str = SOP) -> None:
    """QC's approval of the change control naming the SOP version, through batch's inbox."""
    approved = change_approved(
        version,
        product=document_id,
        change_control_id=f"CC-{document_id}-{version}",
        kind=ChangeSubject.SOP,
    )
    key = change_subject_key(ChangeSubject.SOP, document_id, None)
    outcome = await harness.deliver(approved, subject=key, id=f"cc-{document_id}-{version}")
    assert outcome is Outcome.PROCESSED


@pytest.mark.requirement("EU-PartIV.3", "EU-PartIV.6.2")
async def test_the_sop_register_keeps_versions_in_order(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    r = await client.post("/sops", json=sop(1, t(harness, -30), t(harness, -40)), headers=QA)
    assert r.status_code == 201, r.text
    # registered pending: in force only through its change control
    assert r.json()["effective_version"] is None
    assert [(v["status"], v["change_control_id"]) for v in r.json()["versions"]] == [
        ("pending", None)
    ]
    await approve_sop(harness, 1)
    r = await client.get(f"/sops/{SOP}", headers=OPERATOR)
    assert r.json()["effective_version"] == 1
    assert r.json()["versions"][0]["change_control_id"] == f"CC-{SOP}-1"
    r = await client.post("/sops", json=sop(2, t(harness, 10), t(harness, 5)), headers=QA)
    assert [v["version"] for v in r.json()["versions"]] == [1, 2]
    assert r.json()["effective_version"] == 1
    await approve_sop(harness, 2)
    r = await client.get(f"/sops/{SOP}", headers=OPERATOR)
    assert r.json()["effective_version"] == 1  # version 2 applies in 10 days
    assert [v["status"] for v in r.json()["versions"]] == ["effective", "approved"]
    # batch told QC it acted on each: effective at each version's effective time
    done = [(m.change_control_id, m.effective_at) for m in await harness.published(Implemented)]
    assert done == [(f"CC-{SOP}-1", t(harness, -30)), (f"CC-{SOP}-2", t(harness, 10))]
    again = await client.post("/sops", json=sop(2, t(harness, 20), t(harness, 15)), headers=QA)
    assert assert_problem(again, 409, "sop-version-not-newer")["current_version"] == 2
    late = await client.post("/sops", json=sop(3, t(harness, 20), t(harness, 25)), headers=QA)
    assert assert_problem(late, 422, "training-due-after-effective")["field"] == "training_due_at"
    early = await client.post("/sops", json=sop(3, t(harness, 5), t(harness, 1)), headers=QA)
    assert_problem(early, 422, "sop-effective-before-previous")
    r = await client.post("/sops", json=sop(3, t(harness, 40), t(harness, 30)), headers=SUPERVISOR)
    assert_problem(r, 403, "role-not-allowed")  # document control is the quality unit's
    listed = (await client.get("/sops", headers=OPERATOR)).json()
    assert [(s["document_id"], len(s["versions"])) for s in listed] == [(SOP, 2)]
    assert_problem(await client.get("/sops/SOP-NONE", headers=OPERATOR), 404, "sop-not-found")


@pytest.mark.requirement("EU-PartIV.3")
async def test_training_on_an_sop_version_lapses_when_the_next_versions_training_is_due(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await client.post("/sops", json=sop(1, t(harness, -30), t(harness, -40)), headers=QA)
    r = await grant(
        client,
        kind="sop",
        document_id=SOP,
        sop_version=1,
        valid_from=t(harness, -35).isoformat(),
        reference="TR-2026-0412",
    )
    assert r.status_code == 201, r.text
    assert (r.json()["code"], r.json()["holds"]) == (f"sop:{SOP}", True)
    assert (await is_qualified(client, f"sop:{SOP}", t(harness, 0)))["qualified"]

    # version 2: training due in 5 days, effective in 10 — once its change control is
    # approved (pending, it changes nothing)
    await client.post("/sops", json=sop(2, t(harness, 10), t(harness, 5)), headers=QA)
    assert (await is_qualified(client, f"sop:{SOP}", t(harness, 6)))["qualified"]
    await approve_sop(harness, 2)
    assert (await is_qualified(client, f"sop:{SOP}", t(harness, 4)))["qualified"]
    lapsed = await is_qualified(client, f"sop:{SOP}", t(harness, 6))
    assert not lapsed["qualified"] and "lapsed" in lapsed["reason"]
    # trained on version 2 (before it is effective): qualified again
    r = await grant(
        client,
        kind="sop",
        document_id=SOP,
        sop_version=2,
        valid_from=t(harness, 0).isoformat(),
        reference="TR-2026-0519",
    )
    assert r.status_code == 201, r.text
    assert (await is_qualified(client, f"sop:{SOP}", t(harness, 6)))["qualified"]
    record = (
        await client.get(
            f"/people/{OPERATOR_ID}/qualifications",
            params={"at": t(harness, 6).isoformat()},
            headers=OPERATOR,
        )
    ).json()
    assert [(q["sop_version"], q["holds"]) for q in record["qualifications"]] == [
        (1, False),
        (2, True),
    ]


async def test_unknown_sops_and_versions_are_refused(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    at = t(harness, -1).isoformat()
    r = await grant(
        client, kind="sop", document_id=SOP, sop_version=1, valid_from=at, reference="x"
    )
    assert_problem(r, 422, "sop-unknown")
    await client.post("/sops", json=sop(1, t(harness, -30), t(harness, -40)), headers=QA)
    r = await grant(
        client, kind="sop", document_id=SOP, sop_version=7, valid_from=at, reference="x"
    )
    assert_problem(r, 422, "sop-version-unknown")
    r = await grant(client, kind="sop", valid_from=at, reference="x")
    assert_problem(r, 422, "sop-version-required")
    r = await grant(client, kind="practical", code="gowning", valid_from=at, reference="x")
    assert_problem(r, 422, "invalid-code")
    r = await grant(client, kind="gowning", code="x", valid_from=at, reference="x")
    assert_problem(r, 422, "code-not-allowed")
    r = await grant(client, kind="gowning", valid_from=t(harness, 1).isoformat(), reference="x")
    assert_problem(r, 422, "qualification-in-future")


@pytest.mark.requirement("EU-PartIV.3")
async def test_the_aseptic_process_simulation_qualifies_for_a_year_at_most(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    passed = t(harness, -10)
    r = await grant(
        client,
        kind="aseptic-process-simulation",
        valid_from=passed.isoformat(),
        reference="APS-26-03",
    )
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["expires_at"]) == passed + timedelta(days=365)
    code = "aseptic-process-simulation"
    assert (await is_qualified(client, code, passed + timedelta(days=364)))["qualified"]
    expired = await is_qualified(client, code, passed + timedelta(days=365))
    assert not expired["qualified"] and "expired" in expired["reason"]
    longer = (passed + timedelta(days=400)).isoformat()
    r = await grant(
        client, kind=code, valid_from=passed.isoformat(), expires_at=longer, reference="APS-26-04"
    )
    assert_problem(r, 422, "aps-validity-too-long")


@pytest.mark.requirement("EU-PartIV.3", "EU-Annex11.12.4")
async def test_a_revoked_qualification_holds_until_its_revocation_only(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    r = await grant(
        client,
        kind="practical",
        code="car-t-transduction",
        valid_from=t(harness, -20).isoformat(),
        expires_at=t(harness, 700).isoformat(),
        reference="PQ-0815",
    )
    qualification_id = r.json()["qualification_id"]
    clock(harness).advance(timedelta(days=1))
    url = f"/people/{OPERATOR_ID}/qualifications/{qualification_id}/revocation"
    r = await client.post(url, json={"reason": "failed re-assessment"}, headers=QA)
    assert r.status_code == 200, r.text
    assert (r.json()["holds"], r.json()["revocation_reason"]) == (False, "failed re-assessment")
    assert (await is_qualified(client, "car-t-transduction", t(harness, -1)))["qualified"]
    refused = await is_qualified(client, "car-t-transduction", t(harness, 0))
    assert not refused["qualified"] and "revoked" in refused["reason"]
    again = await client.post(url, json={"reason": "again"}, headers=QA)
    assert_problem(again, 409, "qualification-revoked")
    missing = url.replace(qualification_id, "no-such-qualification")
    assert_problem(await client.post(missing, json={"reason": "x"}, headers=QA), 404)


async def test_no_one_records_their_own_qualification(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    at = t(harness, -1).isoformat()
    r = await grant(client, VERIFIER_ID, SUPERVISOR, kind="gowning", valid_from=at, reference="G-1")
    assert_problem(r, 403, "self-qualification")
    r = await grant(client, OPERATOR_ID, OPERATOR, kind="gowning", valid_from=at, reference="G-1")
    assert_problem(r, 403, "role-not-allowed")
    r = await grant(client, "u" * 129, kind="gowning", valid_from=at, reference="G-1")
    assert_problem(r, 422)  # a user id is at most 128 characters


@pytest.mark.requirement("EU-PartIV.3")
async def test_the_port_refuses_someone_not_qualified_at_that_moment_with_403(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    at = t(harness, -1)
    await grant(
        client,
        kind="gowning",
        valid_from=at.isoformat(),
        reference="G-7",
        expires_at=t(harness, 30).isoformat(),
    )
    async with harness.kit.uow() as uow:
        found = await Qualifications(uow).check(OPERATOR_ID, "gowning", t(harness, 0))
        assert found.code == "gowning"
        with pytest.raises(NotQualified) as never:
            await Qualifications(uow).check("u-never-trained", "gowning", t(harness, 0))
        with pytest.raises(NotQualified) as expired:
            await Qualifications(uow).check(OPERATOR_ID, "gowning", t(harness, 31))
        with pytest.raises(NotQualified) as early:
            await Qualifications(uow).check(OPERATOR_ID, "gowning", at - timedelta(hours=1))
    assert never.value.status == 403 and never.value.code == "not-qualified"
    assert "holds no qualification gowning" in never.value.detail
    assert "expired" in expired.value.detail
    assert "valid only from" in early.value.detail


@pytest.mark.requirement("EU-PartIV.3", "EU-PartIV.5")
async def test_an_instrument_asking_for_an_operator_qualification_refuses_the_unqualified(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    since = t(harness, -5).isoformat()
    await register(
        harness, client, operator_qualification="centrifuge-operation", in_service_from=since
    )
    batch_id = await open_batch(harness)
    r = await use(client, batch_id)
    problem = assert_problem(r, 403, "not-qualified")
    assert problem["qualification"] == "centrifuge-operation"
    log = (await client.get(f"/equipment/{CENTRIFUGE}/usage", headers=OPERATOR)).json()
    assert [u["refusal"]["code"] for u in log] == ["not-qualified"]  # recorded
    await grant(
        client,
        kind="practical",
        code="centrifuge-operation",
        valid_from=t(harness, -1).isoformat(),
        reference="PQ-CEN-3",
    )
    assert (await use(client, batch_id)).status_code == 201
    # the qualification is checked at the time of use, not now
    before = await use(client, batch_id, used_at=t(harness, -2).isoformat())
    assert_problem(before, 403, "not-qualified")
