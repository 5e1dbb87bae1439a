"""Receipt scans against the expected journey, and custody transfers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from v2v_custody.domain.unknown_unit import UnknownUnitScans
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import (
    CustodyTransferred,
    ReceiptRefused,
    RejectUnit,
    UnitReceived,
)
from v2v_runtime.db.tables import events

from .support import ACTOR, APHERESIS, MATERIALS_HANDLER, SITE, TREATMENT, Custody, assert_problem


async def apheresis_unit(custody: Custody) -> tuple[str, dict[str, Any]]:
    coi = await custody.enroll()
    return coi, await custody.collect(coi)


def at_site(coi: str, unit: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = {
        "scanned_din": unit["din"],
        "location": SITE,
        "location_kind": "manufacturing-site",
        "temperature_c": 5.1,
        "minutes_out_of_storage": 7,
    }
    body.update(overrides)
    return body


async def stream_types(custody: Custody, stream_id: str) -> list[str]:
    async with custody.harness.kit.sessions() as s:
        rows = await s.execute(
            select(events.c.event_type)
            .where(events.c.stream_id == stream_id)
            .order_by(events.c.version)
        )
        return list(rows.scalars())


@pytest.mark.requirement("EU-PartIV.6.7", "EU-PartIV.7")
async def test_matching_receipt_is_accepted(custody: Custody) -> None:
    coi, unit = await apheresis_unit(custody)
    r = await custody.receive(unit["unit_id"], coi, **at_site(coi, unit))
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["unit_id"] == unit["unit_id"] and receipt["coi"] == coi
    assert (receipt["from_party"], receipt["location"]) == (APHERESIS, SITE)
    assert receipt["din"] == unit["din"] and receipt["minutes_out_of_storage"] == 7
    [published] = await custody.harness.published(UnitReceived)
    assert published.transfer_id == receipt["transfer_id"]
    assert (published.coi, published.unit_kind, published.din) == (coi, "apheresis", unit["din"])
    assert published.temperature_c == 5.1
    state = (await custody.get(f"/units/{unit['unit_id']}")).json()
    assert (state["status"], state["custodian"], state["location"]) == ("received", SITE, SITE)
    chain = (await custody.get(f"/units/{unit['unit_id']}/transfers")).json()
    assert [(t["kind"], t["from_party"], t["to_party"]) for t in chain] == [
        ("receipt", APHERESIS, SITE)
    ]
    assert chain[0]["actor"] == {"user_id": "u-handler", "role": "materials-handler"}


async def test_repeat_receipt_at_the_same_location_is_idempotent(custody: Custody) -> None:
    coi, unit = await apheresis_unit(custody)
    first = await custody.receive(unit["unit_id"], coi, **at_site(coi, unit))
    assert first.status_code == 201
    before = await custody.harness.outbox()
    types = await stream_types(custody, unit["unit_id"])
    again = await custody.receive(unit["unit_id"], coi, **at_site(coi, unit, temperature_c=9))
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert await custody.harness.outbox() == before
    assert await stream_types(custody, unit["unit_id"]) == types


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.6", "EU-PartIV.7")
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"scanned_coi": "CHA1B2C26000777"}, "coi-mismatch"),
        ({"scanned_din": "A1B2C26000777"}, "din-mismatch"),
        ({"scanned_din": None}, "din-mismatch"),
        ({"location": "ms-elsewhere"}, "location-mismatch"),
        ({"location": TREATMENT, "location_kind": "treatment-center"}, "location-mismatch"),
        ({"location_kind": "treatment-center"}, "location-mismatch"),
    ],
)
async def test_mismatching_receipt_is_refused_and_recorded(
    custody: Custody, change: dict[str, Any], reason: str
) -> None:
    coi, unit = await apheresis_unit(custody)
    body = at_site(coi, unit, **change)
    r = await custody.receive(unit["unit_id"], body.pop("scanned_coi", coi), **body)
    problem = assert_problem(r, 422, "receipt-mismatch")
    assert problem["reason"] == reason
    assert problem["unit_id"] == unit["unit_id"]
    [refused] = await custody.harness.published(ReceiptRefused)
    assert refused.coi == coi  # the unit's own journey
    assert refused.unit_id == unit["unit_id"]
    assert refused.reason.startswith(reason)
    assert refused.actor == Actor(user_id="u-handler", role="materials-handler")
    assert await stream_types(custody, unit["unit_id"]) == [
        "custody.unit.registered",
        "custody.receipt.refused",
    ]
    assert await custody.harness.published(UnitReceived) == []
    state = (await custody.get(f"/units/{unit['unit_id']}")).json()
    assert (state["status"], state["custodian"]) == ("registered", APHERESIS)


@pytest.mark.requirement("EU-Annex11.6")
async def test_unknown_unit_is_refused_and_recorded(custody: Custody) -> None:
    coi = await custody.enroll()
    r = await custody.receive("bag-nobody-knows", coi, location=SITE)
    problem = assert_problem(r, 422, "receipt-mismatch")
    assert problem["reason"] == "unknown-unit"
    [refused] = await custody.harness.published(ReceiptRefused)
    assert (refused.coi, refused.unit_id, refused.scanned_coi) == (coi, "bag-nobody-knows", coi)
    stream = UnknownUnitScans.stream_id("bag-nobody-knows")
    assert await stream_types(custody, stream) == ["custody.receipt.refused"]
    # A label whose CoI is unreadable is still refused and kept on record, not published.
    r = await custody.receive("bag-nobody-knows", "garbled", location=SITE)
    assert assert_problem(r, 422, "receipt-mismatch")["reason"] == "unknown-unit"
    assert len(await custody.harness.published(ReceiptRefused)) == 1
    assert len(await stream_types(custody, stream)) == 2


@pytest.mark.requirement("EU-PartIV.7", "EU-PartIV.14.2")
async def test_rejected_unit_is_refused(custody: Custody) -> None:
    coi, unit = await apheresis_unit(custody)
    cmd = RejectUnit(coi=coi, unit_id=unit["unit_id"], reason="past stability window", actor=ACTOR)
    await custody.harness.deliver(cmd, subject=coi)
    r = await custody.receive(unit["unit_id"], coi, **at_site(coi, unit))
    assert assert_problem(r, 422, "receipt-mismatch")["reason"] == "unit-rejected"
    [refused] = await custody.harness.published(ReceiptRefused)
    assert refused.unit_id == unit["unit_id"]
    assert await custody.harness.published(UnitReceived) == []


async def test_invalid_receipt_is_a_validation_problem(custody: Custody) -> None:
    coi, unit = await apheresis_unit(custody)
    r = await custody.receive(unit["unit_id"], coi, **at_site(coi, unit, location_kind="dock"))
    assert_problem(r, 422, "validation")
    r = await custody.receive(unit["unit_id"], coi, **at_site(coi, unit, minutes_out_of_storage=-1))
    assert_problem(r, 422, "validation")
    assert await custody.harness.published(ReceiptRefused) == []


@pytest.mark.requirement("EU-Annex11.12.4", "EU-PartIV.6.7")
async def test_transfers_make_the_chain_of_custody(custody: Custody) -> None:
    coi, unit = await apheresis_unit(custody)
    uid = unit["unit_id"]
    handoff = {
        "unit_id": uid,
        "from_party": APHERESIS,
        "to_party": "courier-7",
        "location": APHERESIS,
        "temperature_c": 4.0,
    }
    # on one tablet: the apheresis nurse hands over, the courier takes over
    parties = {"signature": "u-apheresis", "counter_signature": "u-carl"}
    r = await custody.post("/transfers", handoff, signers=parties)
    assert r.status_code == 201, r.text
    transfer = r.json()
    assert (transfer["coi"], transfer["kind"], transfer["to_party"]) == (
        coi,
        "handoff",
        "courier-7",
    )
    [published] = await custody.harness.published(CustodyTransferred)
    assert (published.transfer_id, published.temperature_c) == (transfer["transfer_id"], 4.0)
    assert published.actor == Actor(user_id="u-apheresis", role="apheresis-nurse")
    assert (await custody.get(f"/units/{uid}")).json()["status"] == "in-transit"

    # Only the holder can hand the unit on.
    assert_problem(await custody.post("/transfers", handoff), 422, "custody-chain-broken")
    assert_problem(
        await custody.post(
            "/transfers", {**handoff, "from_party": "courier-7", "to_party": "courier-7"}
        ),
        422,
        "transfer-to-self",
    )
    assert_problem(
        await custody.post("/transfers", {**handoff, "unit_id": "nope"}), 404, "unit-not-found"
    )
    assert_problem(
        await custody.post(
            "/transfers", {k: v for k, v in handoff.items() if k != "temperature_c"}
        ),
        422,
        "validation",
    )

    r = await custody.receive(uid, coi, **at_site(coi, unit))
    assert r.status_code == 201
    assert r.json()["from_party"] == "courier-7"
    chain = (await custody.get(f"/units/{uid}/transfers")).json()
    assert [(t["kind"], t["from_party"], t["to_party"]) for t in chain] == [
        ("handoff", APHERESIS, "courier-7"),
        ("receipt", "courier-7", SITE),
    ]
    assert_problem(await custody.get("/units/nope/transfers"), 404, "unit-not-found")


@pytest.mark.requirement("21CFR11.10(f)", "EU-PartIV.14.2")
async def test_rejected_unit_cannot_be_transferred(custody: Custody) -> None:
    coi, unit = await apheresis_unit(custody)
    cmd = RejectUnit(coi=coi, unit_id=unit["unit_id"], reason="damaged bag", actor=ACTOR)
    await custody.harness.deliver(cmd, subject=coi)
    r = await custody.post(
        "/transfers",
        {
            "unit_id": unit["unit_id"],
            "from_party": APHERESIS,
            "to_party": "courier-7",
            "location": APHERESIS,
            "temperature_c": 4.0,
        },
    )
    assert_problem(r, 409, "unit-rejected")


async def test_infinite_minutes_out_of_storage_is_a_422_problem(custody: Custody) -> None:
    # JSON from Python may carry Infinity: it must be refused, not recorded.
    coi = await custody.enroll()
    body = {
        "unit_id": "bag-nobody-knows",
        "scanned_coi": coi,
        "location": TREATMENT,
        "location_kind": "treatment-center",
        "minutes_out_of_storage": float("inf"),
    }
    r = await custody.client.post(
        "/receipts",
        content=json.dumps(body),  # json.dumps writes Infinity
        headers={"content-type": "application/json", **MATERIALS_HANDLER},
    )
    assert_problem(r, 422, "validation")
    assert await custody.harness.published(ReceiptRefused) == []
