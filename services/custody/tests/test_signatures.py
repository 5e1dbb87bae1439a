"""Part 11 signatures on custody's acts: a handoff signed by both parties (each their own
person, on one tablet), the receipt signed by the receiver, the infusion by the infusing
person; what the views show; no patient-identifying data in what is signed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from v2v_events.contracts.custody import CustodyTransferred, InfusionRecorded, UnitReceived
from v2v_runtime.db.tables import events
from v2v_runtime.signatures.model import content_hash, refusals_stream
from v2v_runtime.testing import TestReauthenticator, as_user, signing_password

from .support import (
    APHERESIS,
    BIRTH,
    MRN,
    NAME,
    SITE,
    Custody,
    assert_problem,
)

SIGNED = "v2v.signature.recorded"
# People who authenticate fine, but whose role does not sign these acts.
as_user("u-custody-analyst", "qc-analyst")
as_user("u-coordinator-2", "treatment-center-coordinator", name="Cora Coordinator")
BOTH = {"signature": "u-apheresis", "counter_signature": "u-carl"}


async def collected(custody: Custody) -> tuple[str, str, dict[str, Any]]:
    """An enrolled patient's apheresis unit, held by the apheresis center; the handoff of it
    to a courier there."""
    coi = await custody.enroll()
    unit = await custody.collect(coi)
    handoff = {
        "unit_id": unit["unit_id"],
        "from_party": APHERESIS,
        "to_party": "courier-7",
        "location": APHERESIS,
        "temperature_c": 4.0,
    }
    return coi, unit["unit_id"], handoff


async def stored(custody: Custody, stream: str) -> list[Any]:
    async with custody.harness.kit.sessions() as s:
        rows = await s.execute(
            select(events).where(events.c.stream_id == stream).order_by(events.c.version)
        )
        return list(rows)


def signature(shown: dict[str, Any], user: str, password: str | None = None) -> dict[str, Any]:
    """``user``'s signature of the content a 428 showed."""
    return {
        "content_hash": shown["content_hash"],
        "username": user,
        "password": password or signing_password(user),
    }


def reauth(custody: Custody) -> TestReauthenticator:
    found = custody.harness.kit.signing().reauth
    assert isinstance(found, TestReauthenticator)
    return found


@pytest.mark.requirement("21CFR11.50(a)", "21CFR11.70", "EU-Annex11.14(c)", "EU-Annex11.14(a)")
async def test_a_handoff_shows_each_party_what_they_sign_before_anyone_authenticates(
    custody: Custody,
) -> None:
    coi, uid, handoff = await collected(custody)
    before = await stored(custody, uid)
    shown = await custody.unsigned("/transfers", handoff)
    body = assert_problem(shown, 428, "signature-required")
    assert (body["field"], body["meaning"]) == ("signature", "performed")
    content = body["content"]
    assert content["record"]["id"] == uid and content["values"] == handoff
    assert content["statement"] == (
        f"I hand unit {uid} over from {APHERESIS} to courier-7 at {APHERESIS}."
    )
    assert body["content_hash"] == content_hash(content)
    # the releasing party signed; the receiving party is shown their content: still nothing
    # acted, nobody authenticated yet
    once = {**handoff, "signature": signature(body, "u-apheresis")}
    counter = assert_problem(await custody.unsigned("/transfers", once), 428, "signature-required")
    assert (counter["field"], counter["meaning"]) == ("counter_signature", "received")
    assert counter["content"]["values"] == handoff
    assert counter["content"]["statement"].startswith(f"I take unit {uid} over")
    assert "counter_signature" in counter["detail"]
    assert reauth(custody).attempts == []
    assert await stored(custody, uid) == before
    assert await custody.harness.published(CustodyTransferred) == []
    # both sign: the handoff is recorded, the releasing party's act
    both = {**once, "counter_signature": signature(counter, "u-carl")}
    r = await custody.unsigned("/transfers", both)
    assert r.status_code == 201, r.text
    assert r.json()["actor"] == {"user_id": "u-apheresis", "role": "apheresis-nurse"}
    assert sorted(reauth(custody).attempts) == ["u-apheresis", "u-carl"]
    [published] = await custody.harness.published(CustodyTransferred)
    assert published.coi == coi and published.actor.user_id == "u-apheresis"


@pytest.mark.requirement(
    "21CFR11.100(a)",
    "21CFR11.200(a)(2)",
    "EU-Annex11.14(a)",
    "21CFR11.50(b)",
    "21CFR11.70",
    "EU-Annex11.14(b)",
)
async def test_both_parties_signatures_carry_their_own_subject(custody: Custody) -> None:
    """Two people on the courier's tablet: each signature is its signer's, not the session
    owner's; the chain of custody, the unit and the answer show both."""
    _, uid, handoff = await collected(custody)
    r = await custody.post("/transfers", handoff, signers=BOTH)
    assert r.status_code == 201, r.text
    shown = r.json()["signatures"]
    assert [(s["meaning"], s["signer_id"], s["signer_name"], s["signer_role"]) for s in shown] == [
        ("performed", "u-apheresis", "Anna Apheresis", "apheresis-nurse"),
        ("received", "u-carl", "Carl Courier", "courier"),
    ]
    [*_, act, performed, received] = await stored(custody, uid)
    assert act.event_type.endswith(".transferred")
    assert (performed.event_type, received.event_type) == (SIGNED, SIGNED)
    for sig, who in ((performed, "u-apheresis"), (received, "u-carl")):
        assert sig.payload["signer"]["user_id"] == who
        assert sig.actor["user_id"] == who
        # the session on the tablet is the courier's (the bearer token)
        assert sig.payload["authentication"]["session_user_id"] == "u-carl"
        assert sig.payload["authentication"]["components"] == ["user-id", "password"]
        assert sig.payload["content"]["record"]["version"] == act.version - 1
    chain = (await custody.get(f"/units/{uid}/transfers")).json()
    assert [s["signer_id"] for s in chain[0]["signatures"]] == ["u-apheresis", "u-carl"]
    unit = (await custody.get(f"/units/{uid}")).json()
    assert [s["meaning"] for s in unit["signatures"]] == ["performed", "received"]


@pytest.mark.requirement("21CFR11.10(g)", "21CFR11.100(a)")
async def test_one_person_cannot_sign_both_sides_of_a_handoff(custody: Custody) -> None:
    _, uid, handoff = await collected(custody)
    before = await stored(custody, uid)
    same = {"signature": "u-carl", "counter_signature": "u-carl"}
    r = await custody.post("/transfers", handoff, signers=same)
    assert_problem(r, 403, "handoff-to-self")
    # a party without a handoff role may not sign either side
    for signers in (
        {"signature": "u-custody-analyst", "counter_signature": "u-carl"},
        {"signature": "u-apheresis", "counter_signature": "u-custody-analyst"},
    ):
        r = await custody.post("/transfers", handoff, signers=signers)
        assert_problem(r, 403, "signer-not-allowed")
    assert await stored(custody, uid) == before
    assert await custody.harness.published(CustodyTransferred) == []


@pytest.mark.requirement("21CFR11.300(d)", "21CFR11.70")
async def test_a_wrong_or_stale_counter_signature_acts_nothing(custody: Custody) -> None:
    _, uid, handoff = await collected(custody)
    shown = (await custody.unsigned("/transfers", handoff)).json()
    first = {**handoff, "signature": signature(shown, "u-apheresis")}
    counter = (await custody.unsigned("/transfers", first)).json()
    wrong = {**first, "counter_signature": signature(counter, "u-carl", "not-the-couriers")}
    r = await custody.unsigned("/transfers", wrong)
    assert assert_problem(r, 403, "signature-authentication-failed")["failures"] == 1
    [refused] = await stored(custody, refusals_stream("u-carl"))
    assert refused.payload["record_id"] == uid and refused.payload["meaning"] == "received"
    # the unit moves on (a refused scan is recorded on it) after both were shown it
    await custody.receive(uid, "CHA1B2C26000777", location=SITE, scanned_din="x")
    stale = {**first, "counter_signature": signature(counter, "u-carl")}
    r = await custody.unsigned("/transfers", stale)
    assert assert_problem(r, 409, "signed-content-changed")["field"] == "signature"
    assert await custody.harness.published(CustodyTransferred) == []
    assert [e.event_type for e in await stored(custody, uid)][-1].endswith(".refused")


@pytest.mark.requirement(
    "21CFR11.50(a)",
    "EU-PartIV.6.7",
    "EU-PartIV.7",
    "21CFR11.10(g)",
    "21CFR11.50(b)",
    "EU-Annex11.14(a)",
)
async def test_the_receipt_is_signed_by_the_receiver(custody: Custody) -> None:
    coi, uid, handoff = await collected(custody)
    assert (await custody.post("/transfers", handoff, signers=BOTH)).status_code == 201
    scan = {
        "unit_id": uid,
        "scanned_coi": coi,
        "scanned_din": (await custody.get(f"/units/{uid}")).json()["din"],
        "location": SITE,
        "location_kind": "manufacturing-site",
        "temperature_c": 5.0,
    }
    # a mismatching scan is refused at once: nothing to sign, the refusal recorded
    r = await custody.unsigned("/receipts", {**scan, "scanned_coi": "CHA1B2C26000777"})
    assert_problem(r, 422, "receipt-mismatch")
    shown = assert_problem(await custody.unsigned("/receipts", scan), 428, "signature-required")
    assert shown["meaning"] == "received" and shown["content"]["values"]["unit_id"] == uid
    assert await custody.harness.published(UnitReceived) == []
    # an analyst authenticates, but receiving is not theirs to sign
    r = await custody.post("/receipts", scan, signers={"signature": "u-custody-analyst"})
    assert_problem(r, 403, "signer-not-allowed")
    r = await custody.post("/receipts", scan)
    assert r.status_code == 201, r.text
    [sig] = r.json()["signatures"]
    assert (sig["meaning"], sig["signer_id"], sig["signer_name"]) == (
        "received",
        "u-handler",
        "Mia Handler",
    )
    # scanned again: the receipt as recorded, with its signature; nothing signed again
    again = await custody.unsigned("/receipts", scan)
    assert again.status_code == 200, again.text
    assert again.json()["signatures"] == [sig]
    chain = (await custody.get(f"/units/{uid}/transfers")).json()
    assert [(t["kind"], [s["meaning"] for s in t["signatures"]]) for t in chain] == [
        ("handoff", ["performed", "received"]),
        ("receipt", ["received"]),
    ]


async def infused(custody: Custody) -> tuple[str, dict[str, Any]]:
    """Two bags received and thawed (signed) at the treatment center; the infusion's body,
    40 minutes on."""
    coi = await custody.enroll()
    await custody.final_product_at_treatment_center(coi, ["BAG-1", "BAG-2"])
    thawed = await custody.thawed(coi, ["BAG-1", "BAG-2"])
    custody.clock.advance(timedelta(minutes=40))
    body = {
        "unit_ids": ["BAG-1", "BAG-2"],
        "infused_at": (thawed + timedelta(minutes=40)).isoformat(),
    }
    return coi, body


@pytest.mark.requirement(
    "21CFR11.50(a)", "21CFR11.100(a)", "EU-PartIV.6.7", "21CFR11.10(g)", "EU-Annex11.14(a)"
)
async def test_the_infusion_is_signed_by_the_infusing_person(custody: Custody) -> None:
    coi, body = await infused(custody)
    url = f"/patients/{coi}/infusions"
    before = await stored(custody, coi)
    shown = assert_problem(await custody.unsigned(url, body), 428, "signature-required")
    assert shown["meaning"] == "performed"
    assert shown["content"]["record"]["id"] == coi
    values = shown["content"]["values"]
    assert set(values) == {"coi", "unit_ids", "thawed_at", "infused_at"}
    assert (values["coi"], values["unit_ids"]) == (coi, ["BAG-1", "BAG-2"])
    # the thaw's start as recorded is part of what the nurse signs
    thawed = (await custody.get("/units/BAG-1")).json()["thaw_started_at"]
    assert values["thawed_at"].replace("+00:00", "Z") == thawed
    assert f"thawed from {values['thawed_at']}" in shown["content"]["statement"]
    assert await stored(custody, coi) == before
    assert (await custody.get("/units/BAG-1")).json()["status"] == "received"
    # only an infusion nurse signs it (the coordinator authenticates, but may not)
    r = await custody.post(url, body, signers={"signature": "u-coordinator-2"})
    assert_problem(r, 403, "signer-not-allowed")
    assert await custody.harness.published(InfusionRecorded) == []
    r = await custody.post(url, body)
    assert r.status_code == 201, r.text
    [sig] = r.json()["signatures"]
    assert (sig["meaning"], sig["signer_id"], sig["signer_role"]) == (
        "performed",
        "u-infusion",
        "infusion-nurse",
    )
    [published] = await custody.harness.published(InfusionRecorded)
    assert published.actor.user_id == "u-infusion"
    # reported again: the recorded infusion and its signature, nothing signed again
    again = await custody.unsigned(url, body)
    assert again.status_code == 200, again.text
    assert again.json() == r.json()
    assert [e.event_type for e in await stored(custody, coi)].count(SIGNED) == 1


@pytest.mark.requirement("21CFR11.50(a)", "21CFR11.50(b)", "EU-Annex11.14(c)")
async def test_the_views_show_the_signatures_in_the_sites_time(
    custody: Custody, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("V2V_SIGNING_TIME_ZONE", "Europe/Berlin")
    custody.harness.kit._signing = None  # settings are read when the gate is made
    coi, body = await infused(custody)
    assert (await custody.post(f"/patients/{coi}/infusions", body)).status_code == 201
    patient = (await custody.get(f"/patients/{coi}")).json()
    [infusion] = patient["infusions"]
    [sig] = infusion["signatures"]
    assert (sig["signer_name"], sig["meaning"]) == ("Ines Infusion", "performed")
    assert sig["signed_at"].endswith("Z") and sig["signed_at_site"].endswith("CET")
    assert sig["signed_at_site"].startswith("2026-11-24 09:")  # 08:xx UTC
    for unit in patient["units"]:
        # each bag: its handoff (both parties), its receipt and its thaw
        meanings = [s["meaning"] for s in unit["signatures"]]
        assert meanings == ["performed", "received", "received", "performed"]
    listed = (await custody.get(f"/patients/{coi}/units")).json()
    assert [u["signatures"] for u in listed] == [u["signatures"] for u in patient["units"]]
    chain = (await custody.get("/units/BAG-1/transfers")).json()
    assert [[s["signer_id"] for s in t["signatures"]] for t in chain] == [
        ["u-handler", "u-carl"],
        ["u-handler"],
    ]


@pytest.mark.requirement("21CFR11.50(a)", "EU-PartIV.6.7")
async def test_no_patient_identity_in_what_is_signed(custody: Custody) -> None:
    """Name, birth date and record number stay in custody's identity records: never in a
    signature's values or statement (the content shown and hashed)."""
    coi, uid, handoff = await collected(custody)
    assert (await custody.post("/transfers", handoff, signers=BOTH)).status_code == 201
    din = (await custody.get(f"/units/{uid}")).json()["din"]
    scan = {"unit_id": uid, "scanned_coi": coi, "scanned_din": din}
    at = {"location": SITE, "location_kind": "manufacturing-site"}
    assert (await custody.post("/receipts", {**scan, **at})).status_code == 201
    other, body = await infused(custody)
    assert (await custody.post(f"/patients/{other}/infusions", body)).status_code == 201
    async with custody.harness.kit.sessions() as s:
        rows = list(await s.execute(select(events.c.payload).where(events.c.event_type == SIGNED)))
    # this unit's; the other patient's bags (handoff, receipt, thaw); the infusion
    assert len(rows) == 2 + 1 + 2 * 4 + 1
    secrets = (NAME, BIRTH, MRN, *NAME.split())
    for (payload,) in rows:
        content = payload["content"]
        assert set(content) == {"record", "meaning", "statement", "values"}
        text = json.dumps(content["values"]) + content["statement"]
        assert not any(secret in text for secret in secrets), content
        assert not any(secret in json.dumps(payload) for secret in secrets), payload
    # and the patient record the coordinator sees does carry the identity (it stays here)
    assert (await custody.get(f"/patients/{coi}")).json()["name"] == NAME
