"""Holds in QC: placed by a deviation's containment (one per unit, lot and material lot;
batches and instruments listed, not held) or by QA directly; released only by QA, signed
(428 with the content first, meaning released); published for the owning services; a held
lot is not released by QA; read per site; rebuilt by replay."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from v2v_events.contracts.holds import HoldPlaced, HoldReleased
from v2v_runtime.testing import ServiceHarness, as_user, signed

from .lifecycle import SUPERVISOR, ok, opened_on_lot, triage
from .support import COI, QA, QA_2, READER, problem, release_holds, review_trail

OTHER_SITE_QA = as_user("u-qa-far", "qa-reviewer", sites=("MS-9",))
RELEASE_LOT = {"decision": "release", "reason": "record, results and deviations reviewed"}


async def contained(
    client: httpx.AsyncClient, url: str, affected: list[dict[str, str]], kind: str = "major"
) -> str:
    await triage(client, url, kind)
    body = {"actions": "bags segregated, tagged on hold", "affected": affected}
    r = await client.post(f"{url}/containment", json=body, headers=SUPERVISOR)
    assert r.status_code == 200, r.text
    return str(r.json()["deviation_id"])


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_containment_holds_each_unit_lot_and_material_lot_and_publishes_them(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    url = await opened_on_lot(harness, client)
    affected = [
        {"kind": "unit", "id": "bag-1"},
        {"kind": "material-lot", "id": "ML-7"},
        {"kind": "batch", "id": "batch-1"},
        {"kind": "equipment", "id": "FRZ-2"},
    ]
    deviation_id = await contained(client, url, affected)
    holds = ok_list(await client.get("/holds", params={"deviation_id": deviation_id}))
    assert [(h["item_kind"], h["item_id"], h["state"]) for h in holds] == [
        ("lot", "lot-1", "placed"),
        ("material-lot", "ML-7", "placed"),
        ("unit", "bag-1", "placed"),
    ]
    assert {h["site"] for h in holds} == {"MS-1"}  # the deviation's lot's site
    assert all(h["reason"].startswith(f"Containment of deviation {deviation_id}") for h in holds)
    published = await harness.published(HoldPlaced)
    assert sorted((m.item_kind.value, m.item_id, m.coi) for m in published) == [
        ("lot", "lot-1", COI),  # QC knows its lots' CoI
        ("material-lot", "ML-7", None),
        ("unit", "bag-1", None),
    ]
    assert {m.hold_id for m in published} == {h["hold_id"] for h in holds}
    assert all(m.placed_by.user_id == "u-sup" for m in published)
    keys = {env.subject for _, env in await harness.outbox() if env.type.endswith("hold.placed")}
    assert keys == {COI, "ML-7", "bag-1"}


async def test_qa_places_a_hold_once_and_only_qa(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    body = {"kind": "unit", "id": "bag-9", "reason": "label damaged", "site": "MS-1"}
    problem(await client.post("/holds", json=body, headers=SUPERVISOR), 403)
    first = await client.post("/holds", json=body, headers=QA)
    assert first.status_code == 201, first.text
    again = await client.post("/holds", json=body, headers=QA)
    assert again.status_code == 200 and again.json() == first.json()
    assert len(await harness.published(HoldPlaced)) == 1
    hold = first.json()
    assert (hold["state"], hold["deviation_id"], hold["placed_by"]["user_id"]) == (
        "placed",
        None,
        "u-qa",
    )
    assert ok(await client.get(f"/holds/{hold['hold_id']}")) == hold
    # another site's QA neither sees it nor places one at a site not theirs
    far = await client.get(f"/holds/{hold['hold_id']}", headers=OTHER_SITE_QA)
    problem(far, 404, "hold-not-found")
    problem(await client.post("/holds", json=body, headers=OTHER_SITE_QA), 403)
    unknown = {**body, "deviation_id": "DEV-nope"}
    problem(await client.post("/holds", json=unknown, headers=QA), 422, "deviation-unknown")
    problem(await client.post("/holds", json={**body, "kind": "batch"}, headers=QA), 422)


@pytest.mark.requirement("21CFR11.50(a)", "21CFR11.70")
async def test_a_hold_is_lifted_only_by_a_qa_signature_once(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    body = {"kind": "material-lot", "id": "ML-3", "reason": "supplier recall", "site": "MS-1"}
    hold_id = (await client.post("/holds", json=body, headers=QA)).json()["hold_id"]
    url = f"/holds/{hold_id}/release"
    lift = {"reason": "recall withdrawn by the supplier"}
    # a release without a signature: the content to sign, nothing released
    shown = problem(await client.post(url, json=lift, headers=QA_2), 428)
    assert shown["content"]["meaning"] == "released"
    assert shown["content"]["statement"] == f"I release material-lot ML-3 from hold {hold_id}."
    assert ok(await client.get(f"/holds/{hold_id}"))["state"] == "placed"
    assert await harness.published(HoldReleased) == []
    problem(await signed(client, url, lift, SUPERVISOR), 403)
    problem(await client.post(url, json={}, headers=QA_2), 422)
    released = ok(await signed(client, url, lift, QA_2))
    assert (released["state"], released["released_by"]["user_id"]) == ("released", "u-qa-2")
    assert released["release_reason"] == lift["reason"]
    [message] = await harness.published(HoldReleased)
    assert (message.hold_id, message.meaning.value, message.released_by.user_id) == (
        hold_id,
        "released",
        "u-qa-2",
    )
    problem(await signed(client, url, lift, QA), 409, "hold-already-released")
    problem(await client.post("/holds/H-nope/release", json=lift, headers=QA), 404)
    # QA's own hold on the item again: a new hold (the released one stays released)
    again = await client.post("/holds", json=body, headers=QA)
    assert again.status_code == 201 and again.json()["hold_id"] != hold_id
    placed = ok_list(await client.get("/holds", params={"kind": "material-lot", "id": "ML-3"}))
    assert [h["state"] for h in placed] == ["released", "placed"]


async def test_a_held_lot_is_not_released_by_qa(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    url = await opened_on_lot(harness, client, "minor")
    deviation_id = await contained(client, url, [], "minor")  # a minor one: only held
    assert (await review_trail(client)).status_code == 201
    r = await client.post("/lots/lot-1/decision", json=RELEASE_LOT, headers=QA)
    held = problem(r, 409, "lot-held")
    assert (held["hold_ids"], held["deviation_ids"]) == (
        [f"H-{deviation_id}-lot-lot-1"],
        [deviation_id],
    )
    assert await release_holds(client, deviation_id) == [f"H-{deviation_id}-lot-lot-1"]
    r = await signed(client, "/lots/lot-1/decision", RELEASE_LOT, QA)
    assert r.status_code == 201, r.text


async def test_holds_rebuild_by_replay(harness: ServiceHarness, client: httpx.AsyncClient) -> None:
    url = await opened_on_lot(harness, client)
    deviation_id = await contained(client, url, [{"kind": "unit", "id": "bag-1"}])
    await release_holds(client, deviation_id)
    body = {"kind": "unit", "id": "bag-2", "reason": "label smudged", "site": "MS-1"}
    await client.post("/holds", json=body, headers=QA)
    before = ok_list(await client.get("/holds", params={"kind": "unit"}))
    await harness.kit.rebuild()
    assert ok_list(await client.get("/holds", params={"kind": "unit"})) == before
    assert [h["state"] for h in before] == ["released", "placed"]


def ok_list(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


__all__ = ["READER"]
