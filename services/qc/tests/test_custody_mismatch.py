"""A receipt scan custody refused (custody's receipt.refused) opens one deviation on the
chain of identity, naming the unit, what was scanned, where and why: major by default; a
redelivery opens none, another refusal another one. A refused bag of a lot QC knows holds
that lot and is seen at its manufacturing site."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import ReceiptRefused
from v2v_runtime.testing import ServiceHarness, as_user, signed

from .raised import blocking, deliver, deviations, ids
from .support import COI, OTHER_COI, QA, investigated, no_capa, problem, produced

AT = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
HANDLER = Actor(user_id="u-handler", role="materials-handler")
SITE = "manufacturing-site-1"
ELSEWHERE = as_user("u-qa-ms2", "qa-reviewer", sites=["manufacturing-site-2"])


def refusal(
    unit_id: str = "APH-1",
    *,
    coi: str = COI,
    location: str = SITE,
    at: datetime = AT,
    reason: str = "coi-mismatch: the label's CoI is not the unit's",
) -> ReceiptRefused:
    return ReceiptRefused(
        coi=coi,
        unit_id=unit_id,
        scanned_coi=OTHER_COI,
        scanned_din="G123498654321",
        location=location,
        reason=reason,
        refused_at=at,
        actor=HANDLER,
    )


@pytest.mark.requirement("EU-PartIV.9", "EU-PartIV.11.4")
async def test_a_refused_receipt_opens_one_deviation_on_the_chain(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    msg = refusal()
    await deliver(harness, msg, COI, "refused-1")
    await deliver(harness, msg, COI, "refused-1-again")  # the same refusal, another message id

    [deviation] = await deviations(client, coi=COI)
    assert (deviation["source"], deviation["classification"]) == ("custody-mismatch", "major")
    assert (deviation["coi"], deviation["lot_id"], deviation["site"]) == (COI, None, SITE)
    assert (deviation["unit_ids"], deviation["batches"]) == (["APH-1"], [])
    assert deviation["state"] == "opened" and deviation["classified"] is False
    assert deviation["opened_by"] == {"user_id": "u-handler", "role": "materials-handler"}
    for text in ("APH-1", SITE, "coi-mismatch", f"CoI {OTHER_COI}", "DIN G123498654321"):
        assert text in deviation["description"], text
    assert ids(await deviations(client, unit_id="APH-1")) == [deviation["deviation_id"]]
    assert await deviations(client, unit_id="APH-2") == []
    assert await deviations(client, coi=COI, unit_id="APH-2") == []  # every filter applies
    # another site's reader does not see it
    assert (await client.get("/deviations", params={"coi": COI}, headers=ELSEWHERE)).json() == []

    # the same unit scanned wrong again later is another occurrence
    await deliver(harness, refusal(at=AT + timedelta(minutes=5)), COI, "refused-2")
    assert len(await deviations(client, unit_id="APH-1")) == 2


async def test_a_refused_bag_of_a_known_lot_holds_the_lot_until_qa_closes_it(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await deliver(harness, produced("lot-1", bag_ids=("bag-1", "bag-2")), COI, "produced-1")
    # a bag refused at the treatment center: seen at the lot's site, the lot held
    await deliver(harness, refusal("bag-2", location="treatment-center-1"), COI, "refused-bag")
    [deviation] = await deviations(client, lot_id="lot-1")
    assert deviation["site"] == "MS-1"  # the lot's manufacturing site (support.produced)
    assert [(b["batch_id"], b["lot_id"]) for b in deviation["batches"]] == [
        ("batch-of-lot-1", "lot-1")
    ]
    assert "units bag-2" in deviation["batches"][0]["detail"]
    assert await blocking(harness, "lot-1") == [deviation["deviation_id"]]

    url = f"/deviations/{deviation['deviation_id']}"
    await investigated(client, url, "major")
    closing = no_capa("label misread: rescanned, chain confirmed")
    shown = problem(await client.post(f"{url}/close", json=closing, headers=QA), 428)
    assert f"of chain of identity {COI} (units bag-2)" in shown["content"]["statement"]
    assert (await signed(client, f"{url}/close", closing, QA)).status_code == 200
    assert await blocking(harness, "lot-1") == []


async def test_a_bag_of_another_chain_is_not_traced_to_its_lot(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await deliver(harness, produced("lot-9", coi=OTHER_COI, bag_ids=("bag-9",)), OTHER_COI, "p")
    # custody names the unit's own CoI: a unit id that is another chain's bag is not traced
    await deliver(harness, refusal("bag-9"), COI, "refused-9")
    [deviation] = await deviations(client, unit_id="bag-9")
    assert (deviation["coi"], deviation["batches"], deviation["site"]) == (COI, [], SITE)
    assert await blocking(harness, "lot-9") == []
