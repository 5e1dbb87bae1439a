"""Through HTTP: the material master, lots received into quarantine, QA's signed release and
rejection (with their public events), and expiry by the clock alone."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from v2v_events.contracts.batch import MaterialLotRejected, MaterialLotReleased
from v2v_runtime.testing import ServiceHarness, as_user

from .materials import (
    BAGS,
    BEADS,
    BOTH,
    BOTH_ID,
    HANDLER,
    HANDLER_ID,
    QA,
    QA_ID,
    VECTOR,
    clock_of,
    define,
    receipt,
    receive,
    reject,
    release,
    released_lot,
)
from .support import OPERATOR, SITE, assert_problem

PARIS_QA = as_user("u-mat-paris-qa", "qa-reviewer", sites=["SITE-PARIS-1"], name="Pia Paris")
PARIS_HANDLER = as_user("u-mat-paris", "materials-handler", sites=["SITE-PARIS-1"])


@pytest.mark.requirement("EU-PartIV.7")
async def test_the_material_master_defines_each_code_once(client: httpx.AsyncClient) -> None:
    r = await client.post("/material-master", json=VECTOR, headers=HANDLER)
    assert r.status_code == 201, r.text
    shown = r.json()
    assert shown | {"defined_at": None} == VECTOR | {
        "defined_at": None,
        "defined_by": {"user_id": HANDLER_ID, "role": "materials-handler"},
    }
    again = await client.post("/material-master", json=VECTOR, headers=HANDLER)
    assert again.status_code == 200 and again.json() == shown
    other = await client.post(
        "/material-master", json=VECTOR | {"storage_condition": "ambient-15-25C"}, headers=QA
    )
    assert_problem(other, 409, "material-already-defined")
    await define(client, BEADS)
    listed = await client.get("/material-master", headers=OPERATOR)
    assert [m["material_code"] for m in listed.json()] == ["LV-CD19-01", "RGT-CD3CD28"]
    vectors = await client.get("/material-master?material_type=vector", headers=OPERATOR)
    assert [m["material_code"] for m in vectors.json()] == ["LV-CD19-01"]
    got = await client.get("/material-master/LV-CD19-01", headers=OPERATOR)
    assert got.json() == shown
    assert_problem(await client.get("/material-master/NOPE", headers=OPERATOR), 404)


async def test_a_material_definition_names_what_is_wrong(client: httpx.AsyncClient) -> None:
    bad = await client.post("/material-master", json=VECTOR | {"unit": "litre"}, headers=HANDLER)
    assert assert_problem(bad, 422, "unit-unknown")["field"] == "unit"
    bad = await client.post(
        "/material-master", json=VECTOR | {"material_type": "virus"}, headers=HANDLER
    )
    assert_problem(bad, 422)
    bad = await client.post(
        "/material-master", json=VECTOR | {"material_code": "LV CD19"}, headers=HANDLER
    )
    assert_problem(bad, 422)
    assert_problem(await client.post("/material-master", json=VECTOR, headers=OPERATOR), 403)


@pytest.mark.requirement("EU-PartIV.7")
async def test_a_lot_is_received_into_quarantine(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    lot = await receive(harness, client, VECTOR, quantity=2, unit="L")
    assert lot["status"] == "quarantine" and lot["usable"] is False
    assert (lot["material_type"], lot["storage_condition"]) == ("vector", "frozen-minus-80C")
    assert (lot["received_quantity"], lot["remaining_quantity"], lot["unit"]) == (2, 2, "L")
    assert lot["received_by"] == {"user_id": HANDLER_ID, "role": "materials-handler"}
    assert (lot["supplier_lot"], lot["certificate_ref"]) == ("LV26-0114", "COA-LV-2026-0114")
    assert lot["signatures"] == []
    assert (await client.get(f"/material-lots/{lot['lot_id']}", headers=OPERATOR)).json() == lot
    assert await harness.published(MaterialLotReleased) == []


async def test_a_receipt_names_what_is_wrong(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await define(client, VECTOR)
    await define(client, BAGS)

    async def post(body: dict[str, object], headers: dict[str, str] = HANDLER) -> httpx.Response:
        return await client.post("/material-lots", json=body, headers=headers)

    r = await post(receipt(harness, VECTOR, material_code="LV-UNKNOWN"))
    assert assert_problem(r, 422, "material-unknown")["field"] == "material_code"
    r = await post(receipt(harness, BAGS, unit="mL"))
    assert assert_problem(r, 422, "unit-incompatible")["field"] == "unit"
    past = (clock_of(harness).current - timedelta(days=1)).isoformat()
    r = await post(receipt(harness, VECTOR, expires_at=past))
    assert assert_problem(r, 422, "material-lot-expired-at-receipt")["field"] == "expires_at"
    assert_problem(await post(receipt(harness, VECTOR, quantity=0)), 422)
    assert_problem(await post(receipt(harness, VECTOR), PARIS_HANDLER), 403, "site-not-yours")
    assert_problem(await post(receipt(harness, VECTOR), OPERATOR), 403, "role-not-allowed")
    assert (await client.get("/material-lots", headers=OPERATOR)).json() == []


@pytest.mark.requirement("EU-PartIV.7", "21CFR11.50(a)", "21CFR11.70", "EU-Annex11.14(a)")
async def test_qa_releases_a_lot_signed(harness: ServiceHarness, client: httpx.AsyncClient) -> None:
    lot = await receive(harness, client, VECTOR)
    url = f"/material-lots/{lot['lot_id']}/release"
    shown = await client.post(url, json={"note": "CoA and ID test reviewed"}, headers=QA)
    problem = assert_problem(shown, 428, "signature-required")
    values = problem["content"]["values"]
    assert problem["meaning"] == "released"
    assert (values["certificate_ref"], values["supplier_lot"]) == ("COA-LV-2026-0114", "LV26-0114")
    assert values["note"] == "CoA and ID test reviewed"
    assert "I release material lot" in problem["content"]["statement"]
    assert (await client.get(f"/material-lots/{lot['lot_id']}", headers=QA)).json() == lot

    r = await release(client, lot["lot_id"])
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["usable"]) == ("released", True)
    assert done["decided_by"] == {"user_id": QA_ID, "role": "qa-reviewer"}
    [signature] = done["signatures"]
    assert (signature["meaning"], signature["signer_id"], signature["signer_name"]) == (
        "released",
        QA_ID,
        "Quentin QA",
    )
    [published] = await harness.published(MaterialLotReleased)
    assert (published.lot_id, published.material_type, published.actor.user_id) == (
        lot["lot_id"],
        "vector",
        QA_ID,
    )
    assert_problem(await release(client, lot["lot_id"]), 409, "material-lot-not-in-quarantine")


@pytest.mark.requirement("21CFR11.10(g)", "EU-PartIV.7")
async def test_only_qa_releases_and_never_who_received_the_lot(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await define(client, VECTOR)
    r = await client.post("/material-lots", json=receipt(harness, VECTOR), headers=BOTH)
    lot_id = r.json()["lot_id"]
    assert_problem(await release(client, lot_id, BOTH), 403, "release-by-receiver")
    # a handler signing on QA's session is not the quality unit
    assert_problem(await release(client, lot_id, QA, signer=HANDLER_ID), 403, "signer-not-allowed")
    r = await client.post(f"/material-lots/{lot_id}/release", json={}, headers=HANDLER)
    assert_problem(r, 403, "role-not-allowed")
    assert (await client.get(f"/material-lots/{lot_id}", headers=QA)).json()["status"] == (
        "quarantine"
    )
    r = await release(client, lot_id, BOTH, signer=QA_ID)  # another person signs: theirs
    assert r.json()["decided_by"]["user_id"] == QA_ID
    assert BOTH_ID not in {s["signer_id"] for s in r.json()["signatures"]}


@pytest.mark.requirement("EU-PartIV.7", "21CFR11.50(a)")
async def test_qa_rejects_a_lot_signed_even_after_its_release(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    lot = await released_lot(harness, client, VECTOR)
    r = await client.post(f"/material-lots/{lot['lot_id']}/rejection", json={}, headers=QA)
    assert_problem(r, 422)  # a rejection states its reason
    r = await reject(client, lot["lot_id"], "supplier recall R-77")
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["usable"], done["rejection_reason"]) == (
        "rejected",
        False,
        "supplier recall R-77",
    )
    assert [s["meaning"] for s in done["signatures"]] == ["released", "rejected"]
    [published] = await harness.published(MaterialLotRejected)
    assert (published.lot_id, published.reason) == (lot["lot_id"], "supplier recall R-77")
    assert_problem(await reject(client, lot["lot_id"]), 409, "material-lot-already-rejected")


async def test_expiry_applies_by_itself(harness: ServiceHarness, client: httpx.AsyncClient) -> None:
    soon = (clock_of(harness).current + timedelta(days=2)).isoformat()
    lot = await released_lot(harness, client, VECTOR, expires_at=soon)
    waiting = await receive(harness, client, BEADS, expires_at=soon)
    clock_of(harness).advance(timedelta(days=3))
    found = (await client.get(f"/material-lots/{lot['lot_id']}", headers=OPERATOR)).json()
    assert (found["status"], found["usable"]) == ("expired", False)
    expired = await client.get("/material-lots?status=expired", headers=OPERATOR)
    assert {x["lot_id"] for x in expired.json()} == {lot["lot_id"], waiting["lot_id"]}
    assert (await client.get("/material-lots?status=released", headers=OPERATOR)).json() == []
    r = await release(client, waiting["lot_id"])
    assert_problem(r, 409, "material-lot-expired")


async def test_lots_are_found_by_material_and_supplier_lot_at_the_callers_sites(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    vector = await receive(harness, client, VECTOR)
    await receive(harness, client, BEADS, supplier_lot="B-1")
    found = await client.get("/material-lots?supplier_lot=LV26-0114", headers=QA)
    assert [x["lot_id"] for x in found.json()] == [vector["lot_id"]]
    found = await client.get("/material-lots?material_code=RGT-CD3CD28", headers=QA)
    assert [x["supplier_lot"] for x in found.json()] == ["B-1"]
    assert (await client.get("/material-lots", headers=PARIS_QA)).json() == []
    r = await client.get(f"/material-lots/{vector['lot_id']}", headers=PARIS_QA)
    assert_problem(r, 404, "material-lot-not-found")
    assert_problem(await release(client, vector["lot_id"], PARIS_QA), 404)
    assert SITE in {x["site"] for x in (await client.get("/material-lots", headers=QA)).json()}
