"""Signed batch steps (meaning performed) and their second-person verification (meaning
verified): the content shown before signing, the signer as the acting person, separation of
duties on one tablet, the lot waiting for verification, and what the batch record shows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from v2v_batch.domain import STEP_ORDER, Step
from v2v_events.contracts.batch import LotProduced, StepRecorded
from v2v_runtime.audit import verify as audit_verify
from v2v_runtime.db.tables import events
from v2v_runtime.signatures.model import content_hash, refusals_stream
from v2v_runtime.testing import ServiceHarness, as_user, signed

from .support import (
    COI,
    DIN,
    LOT,
    OPERATOR,
    OPERATOR_ID,
    SITE,
    VERIFIER,
    VERIFIER_ID,
    assert_problem,
    collect,
    open_batch,
    post_step,
    produce_lot,
    record_steps,
    step_body,
    verify,
)

# A second specialist (peer verification), a QA reviewer (not a verifier of steps) and a
# supervisor of another site.
PEER_ID = "u-batch-peer"
PEER = as_user(PEER_ID, "cell-therapy-specialist", name="Pete Peer")
QA_ID = "u-batch-qa"
as_user(QA_ID, "qa-reviewer", name="Quinn QA")
ELSEWHERE_ID = "u-batch-elsewhere"
as_user(ELSEWHERE_ID, "manufacturing-supervisor", sites=["SITE-PARIS-1"], name="Paul Paris")


async def batch_events(harness: ServiceHarness, batch_id: str) -> list[Any]:
    async with harness.kit.sessions() as s:
        rows = await s.execute(
            select(events).where(events.c.stream_id == batch_id).order_by(events.c.version)
        )
        return list(rows)


async def up_to(client: httpx.AsyncClient, batch_id: str, step: Step) -> None:
    """Every step before ``step`` recorded and verified as needed; ``step`` recorded."""
    before = STEP_ORDER[STEP_ORDER.index(step) - 1] if step is not Step.SELECTION else None
    if before is not None:
        await record_steps(client, batch_id, before)
    r = await post_step(client, batch_id, step_body(step))
    assert r.status_code == 201, r.text


@pytest.mark.requirement("21CFR11.50(a)", "21CFR11.70", "EU-Annex11.14(c)", "EU-Annex11.14(a)")
async def test_an_unsigned_step_shows_what_will_be_signed_and_records_nothing(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    body = step_body(Step.SELECTION, retained_aliquots=1)
    shown = await client.post(f"/batches/{batch_id}/steps", json=body, headers=OPERATOR)
    problem = assert_problem(shown, 428, "signature-required")
    content = problem["content"]
    assert problem["meaning"] == "performed" == content["meaning"]
    assert content["record"]["id"] == batch_id
    assert content["values"]["batch_id"] == batch_id
    assert content["values"]["step"] == "selection"
    assert content["values"]["retained_aliquots"] == 1
    assert content["values"]["equipment_id"] == "EQ-selection"
    assert "I performed the selection step" in content["statement"]
    assert problem["content_hash"] == content_hash(content)
    assert await harness.published(StepRecorded) == []
    assert (await client.get(f"/batches/{batch_id}")).json()["steps"] == []
    # values other than those shown are not signed
    other = {**body, "equipment_id": "EQ-OTHER"}
    sig = {"content_hash": problem["content_hash"], "username": OPERATOR_ID}
    r = await client.post(
        f"/batches/{batch_id}/steps",
        json={**other, "signature": {**sig, "password": f"pw-{OPERATOR_ID}"}},
        headers=OPERATOR,
    )
    assert_problem(r, 409, "signed-content-changed")
    assert await harness.published(StepRecorded) == []


@pytest.mark.requirement("21CFR11.50(a)", "21CFR11.100(a)", "EU-PartIV.6.4")
async def test_the_performed_signature_carries_the_performer(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    r = await post_step(client, batch_id, step_body(Step.SELECTION))
    assert r.status_code == 201, r.text
    view = r.json()
    [sig] = view["signatures"]
    assert (sig["meaning"], sig["signer_id"], sig["signer_name"], sig["signer_role"]) == (
        "performed",
        OPERATOR_ID,
        "Olga Operator",
        "cell-therapy-specialist",
    )
    assert sig["signed_at_site"].endswith("UTC")
    assert view["operator"]["user_id"] == OPERATOR_ID
    assert view["verification_required"] is False  # selection is not critical by default
    [*_, recorded, signature] = await batch_events(harness, batch_id)
    assert recorded.event_type == "batch.step-recorded"
    assert recorded.payload["performed_by"]["user_id"] == OPERATOR_ID
    assert recorded.payload["signature_id"] == sig["signature_id"]
    assert recorded.actor["name"] == "Olga Operator"
    assert signature.event_type == "v2v.signature.recorded"
    assert signature.payload["signer"]["user_id"] == OPERATOR_ID
    [published] = await harness.published(StepRecorded)
    assert published.actor.user_id == OPERATOR_ID


@pytest.mark.requirement("21CFR11.200(a)(2)")
async def test_whoever_signs_a_step_performed_it(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    """On the operator's tablet, a supervisor signs the step with their own components: the
    step is theirs (operator and signature), so they cannot verify it, and the operator can."""
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id, Step.ACTIVATION)
    r = await post_step(client, batch_id, step_body(Step.TRANSDUCTION), signer=VERIFIER_ID)
    assert r.status_code == 201, r.text
    assert r.json()["operator"] == {"user_id": VERIFIER_ID, "role": "manufacturing-supervisor"}
    assert r.json()["signatures"][0]["signer_id"] == VERIFIER_ID
    r = await verify(client, batch_id, Step.TRANSDUCTION)
    assert_problem(r, 403, "verification-by-performer")
    r = await verify(client, batch_id, Step.TRANSDUCTION, session=VERIFIER, signer=OPERATOR_ID)
    assert r.status_code == 201, r.text
    assert r.json()["verified_by"] == {"user_id": OPERATOR_ID, "role": "cell-therapy-specialist"}


@pytest.mark.requirement("21CFR11.10(g)", "21CFR11.100(a)", "EU-Annex11.6")
async def test_the_performer_cannot_verify_their_own_step(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    await up_to(client, batch_id, Step.TRANSDUCTION)
    before = await batch_events(harness, batch_id)
    r = await verify(client, batch_id, Step.TRANSDUCTION, signer=OPERATOR_ID)
    body = assert_problem(r, 403, "verification-by-performer")
    assert OPERATOR_ID in body["detail"]
    assert len(await batch_events(harness, batch_id)) == len(before)
    step = (await client.get(f"/batches/{batch_id}")).json()["steps"][-1]
    assert step["verified_by"] is None and len(step["signatures"]) == 1


@pytest.mark.requirement(
    "21CFR11.50(a)", "21CFR11.100(a)", "21CFR11.200(a)(2)", "EU-PartIV.6.4", "EU-Annex11.6"
)
async def test_a_second_person_verifies_on_the_performers_tablet(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    await up_to(client, batch_id, Step.TRANSDUCTION)
    url = f"/batches/{batch_id}/steps/transduction/verification"
    shown = await client.post(url, json={}, headers=OPERATOR)
    problem = assert_problem(shown, 428, "signature-required")
    values = problem["content"]["values"]
    assert problem["meaning"] == "verified"
    assert values["step"] == "transduction"
    assert values["performed_by"] == {"user_id": OPERATOR_ID, "role": "cell-therapy-specialist"}
    assert values["equipment_id"] == "EQ-transduction"
    assert f"performed by {OPERATOR_ID}" in problem["content"]["statement"]

    r = await verify(client, batch_id, Step.TRANSDUCTION)  # the verifier, on OPERATOR's session
    assert r.status_code == 201, r.text
    view = r.json()
    assert view["verified_by"] == {"user_id": VERIFIER_ID, "role": "manufacturing-supervisor"}
    assert view["operator"]["user_id"] == OPERATOR_ID
    performed, verified = view["signatures"]
    assert (performed["meaning"], performed["signer_id"]) == ("performed", OPERATOR_ID)
    assert (verified["meaning"], verified["signer_id"], verified["signer_name"]) == (
        "verified",
        VERIFIER_ID,
        "Vera Verifier",
    )
    [*_, step_verified, signature] = await batch_events(harness, batch_id)
    assert step_verified.event_type == "batch.step-verified"
    assert step_verified.payload["verified_by"]["user_id"] == VERIFIER_ID
    assert step_verified.payload["signature_id"] == verified["signature_id"]
    assert step_verified.actor["user_id"] == VERIFIER_ID
    assert signature.payload["signer"]["user_id"] == VERIFIER_ID
    assert signature.payload["authentication"]["session_user_id"] == OPERATOR_ID
    assert signature.payload["authentication"]["components"] == ["user-id", "password"]
    # once is enough; the step cannot be verified again
    r = await verify(client, batch_id, Step.TRANSDUCTION, signer=PEER_ID)
    assert_problem(r, 409, "step-already-verified")


@pytest.mark.requirement("21CFR11.10(g)", "21CFR11.300(d)")
async def test_who_may_verify(harness: ServiceHarness, client: httpx.AsyncClient) -> None:
    """A supervisor or another specialist of the batch's site; not QA, not another site's
    supervisor; a wrong password is refused and recorded."""
    batch_id = await open_batch(harness)
    await up_to(client, batch_id, Step.TRANSDUCTION)
    r = await verify(client, batch_id, Step.TRANSDUCTION, signer=QA_ID)
    assert_problem(r, 403, "signer-not-allowed")
    r = await verify(client, batch_id, Step.TRANSDUCTION, signer=ELSEWHERE_ID)
    assert_problem(r, 403, "signer-not-allowed")
    r = await verify(client, batch_id, Step.TRANSDUCTION, password="not-the-password")
    assert_problem(r, 403, "signature-authentication-failed")
    refused = await batch_events(harness, refusals_stream(VERIFIER_ID))
    assert [e.payload["meaning"] for e in refused] == ["verified"]
    assert refused[0].payload["record_id"] == batch_id
    r = await verify(client, batch_id, Step.TRANSDUCTION, signer=PEER_ID)
    assert r.status_code == 201, r.text
    assert r.json()["verified_by"] == {"user_id": PEER_ID, "role": "cell-therapy-specialist"}


async def test_what_cannot_be_verified_is_refused_before_signing(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)
    url = f"/batches/{batch_id}/steps/harvest/verification"
    assert_problem(await client.post(url, json={}, headers=OPERATOR), 409, "step-not-recorded")
    r = await client.post(f"/batches/{batch_id}/steps/washing/verification", json={})
    assert assert_problem(r, 422, "step-unknown")["field"] == "step"  # not a process step
    r = await client.post("/batches/nope/steps/harvest/verification", json={}, headers=OPERATOR)
    assert_problem(r, 404, "batch-not-found")
    # a role that does not work in manufacturing does not reach the step at all
    qa = as_user(QA_ID, "qa-reviewer", name="Quinn QA")
    assert_problem(await client.post(url, json={}, headers=qa), 403, "role-not-allowed")
    await record_steps(client, batch_id)
    await produce_lot(client, batch_id)
    r = await verify(client, batch_id, Step.SELECTION)
    assert_problem(r, 409, "lot-already-produced")


@pytest.mark.requirement("EU-PartIV.6.4", "EU-PartIV.9", "EU-Annex11.6")
async def test_the_lot_waits_for_the_steps_that_need_verification(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness)  # default product: the critical steps
    await record_steps(client, batch_id, verified=False)
    record = (await client.get(f"/batches/{batch_id}")).json()
    critical = ["transduction", "harvest", "formulation", "cryopreservation"]
    assert record["config"]["verified_steps"] == critical
    assert record["unverified_steps"] == critical
    assert [s["step"] for s in record["steps"] if s["verification_required"]] == critical
    lot_url = f"/batches/{batch_id}/lot"
    for i, step in enumerate(critical):
        r = await client.post(lot_url, json=LOT, headers=OPERATOR)
        assert assert_problem(r, 409, "unverified-steps")["steps"] == critical[i:]
        assert (await verify(client, batch_id, step)).status_code == 201
    assert await harness.published(LotProduced) == []
    assert (await client.get(f"/batches/{batch_id}")).json()["unverified_steps"] == []
    lot = await produce_lot(client, batch_id)
    assert lot["status"] == "quarantined"


@pytest.mark.requirement("EU-Annex11.6", "EU-PartIV.6.4")
async def test_a_product_configures_its_verified_steps(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await collect(harness, "APH-S")
    body = {"coi": COI, "apheresis_unit_id": "APH-S", "din": DIN, "manufacturing_site": SITE}
    r = await client.post("/batches", json=body | {"product_code": "S1234"}, headers=OPERATOR)
    batch_id = r.json()["batch_id"]
    await record_steps(client, batch_id, verified=False)
    r = await client.post(f"/batches/{batch_id}/lot", json=LOT, headers=OPERATOR)
    assert assert_problem(r, 409, "unverified-steps")["steps"] == ["harvest", "cryopreservation"]
    for step in (Step.HARVEST, Step.CRYOPRESERVATION):
        assert (await verify(client, batch_id, step)).status_code == 201
    await produce_lot(client, batch_id)


@pytest.mark.requirement("21CFR11.50(a)", "21CFR11.50(b)", "EU-Annex11.14(c)", "EU-PartIV.6.4")
async def test_the_batch_record_shows_who_performed_and_verified_each_step(
    harness: ServiceHarness, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("V2V_SIGNING_TIME_ZONE", "Europe/Berlin")
    harness.kit._signing = None  # the site's settings are read when the gate is made
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id)
    lot = await produce_lot(client, batch_id)
    record = (await client.get(f"/batches/{batch_id}")).json()
    assert record["lot"]["lot_id"] == lot["lot_id"]
    for step in record["steps"]:
        meanings = [(s["meaning"], s["signer_name"]) for s in step["signatures"]]
        if step["verification_required"]:
            assert meanings == [("performed", "Olga Operator"), ("verified", "Vera Verifier")]
            assert step["verified_by"]["user_id"] == VERIFIER_ID
            assert step["verified_at"] is not None
        else:
            assert meanings == [("performed", "Olga Operator")]
            assert step["verified_by"] is None
        for sig in step["signatures"]:
            assert sig["signed_at"].endswith("Z")
            assert sig["signed_at_site"].endswith(("CET", "CEST"))
            assert sig["record_id"] == batch_id
    # every signature in the batch's stream signs the record as it stood
    async with harness.kit.uow() as uow:
        report = await audit_verify(uow.session)
    assert report.ok, report.findings
    assert report.signatures_checked == len(STEP_ORDER) + len(record["config"]["verified_steps"])


async def test_signing_is_needed_only_by_acts_that_can_be_done(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    """Out-of-order steps and bad values are refused before anyone is asked to sign."""
    batch_id = await open_batch(harness)
    r = await client.post(
        f"/batches/{batch_id}/steps", json=step_body(Step.HARVEST), headers=OPERATOR
    )
    assert_problem(r, 409, "step-out-of-order")
    r = await signed(
        client, f"/batches/{batch_id}/steps", step_body(Step.SELECTION, equipment_id=" "), OPERATOR
    )
    assert_problem(r, 422)
    assert await harness.published(StepRecorded) == []
