"""A batch exception (batch.exception.raised) opens one deviation in QC — once, however
often it is delivered — which is assigned to the batch's lot when QC registers it and
blocks the lot's release until QA closes it."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from v2v_events.contracts.batch import (
    BatchExceptionKind,
    BatchExceptionRaised,
    MbrRef,
)
from v2v_events.contracts.common import Actor
from v2v_events.contracts.qc import DeviationOpened
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, as_user, signed

from .support import (
    COI,
    QA,
    investigated,
    no_capa,
    order_panel,
    post_all,
    problem,
    produced,
    release_holds,
    review_trail,
)

PARIS = as_user("u-qa-paris", "qa-reviewer", sites=["SITE-PARIS-1"])


def raised(exception_id: str = "exc-1", batch_id: str = "batch-of-lot-1") -> BatchExceptionRaised:
    return BatchExceptionRaised(
        coi=COI,
        batch_id=batch_id,
        exception_id=exception_id,
        mbr=MbrRef(product_code="S2CART", site="MS-1", version=1),
        step_id="harvest",
        step_name="Harvest",
        kind=BatchExceptionKind.CRITICAL_PARAMETER_OUT_OF_LIMITS,
        parameter="viability_pct",
        value="64 %",
        limit=">= 70 %",
        detail="Harvest: Viability at harvest 64 % is outside >= 70 % (critical parameter)",
        manufacturing_site="MS-1",
        raised_at=datetime(2026, 11, 19, 9, 0, tzinfo=UTC),
        actor=Actor(user_id="u-operator", role="cell-therapy-specialist"),
    )


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_a_batch_exception_opens_one_deviation_that_blocks_its_lots_release(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    for message_id in ("m-1", "m-1", "m-2"):  # redelivered, then published again
        outcome = await harness.deliver(raised(), subject=COI, id=message_id)
        assert outcome in (Outcome.PROCESSED, Outcome.DUPLICATE)
    [deviation] = (await client.get("/deviations", params={"batch_id": "batch-of-lot-1"})).json()
    assert (deviation["classification"], deviation["source"], deviation["state"]) == (
        "major",
        "batch-exception",
        "opened",
    )
    assert (deviation["site"], deviation["lot_id"]) == ("MS-1", None)
    [named] = deviation["batches"]
    assert (named["batch_id"], named["coi"], named["lot_id"]) == ("batch-of-lot-1", COI, None)
    assert "64 %" in named["detail"] and ">= 70 %" in named["detail"]
    assert "64 %" in deviation["description"] and "S2CART v1" in deviation["description"]
    assert "exc-1" in deviation["description"]
    assert not await harness.published(DeviationOpened)  # the contract names one lot
    problem(await client.get(f"/deviations/{deviation['deviation_id']}", headers=PARIS), 404)
    # The lot registers: the deviation holds it until QA closes it.
    panel_id = await order_panel(harness)
    held = (await client.get("/deviations", params={"lot_id": "lot-1"})).json()
    assert [d["deviation_id"] for d in held] == [deviation["deviation_id"]]
    await post_all(client, panel_id)
    assert (await review_trail(client)).status_code == 201
    body = {"decision": "release", "reason": "reviewed"}
    r = await signed(client, "/lots/lot-1/decision", body, QA)
    assert problem(r, 409, "open-deviation")["deviation_ids"] == [deviation["deviation_id"]]
    url = f"/deviations/{deviation['deviation_id']}"
    await investigated(client, url, "major")
    r = await signed(client, f"{url}/close", no_capa("cells re-counted: no impact"), QA)
    assert r.status_code == 200, r.text
    # closing the deviation does not lift its holds: QA releases them, signed
    problem(await signed(client, "/lots/lot-1/decision", body, QA), 409, "lot-held")
    assert await release_holds(client, deviation["deviation_id"])
    assert (await review_trail(client)).status_code == 201
    assert (await signed(client, "/lots/lot-1/decision", body, QA)).status_code == 201


async def test_an_exception_after_the_lot_is_registered_holds_the_lot_at_once(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    assert await harness.deliver(produced(), subject=COI) is Outcome.PROCESSED
    assert await harness.deliver(raised("exc-2"), subject=COI) is Outcome.PROCESSED
    [deviation] = (await client.get("/deviations", params={"lot_id": "lot-1"})).json()
    assert "exc-2" in deviation["description"]


async def test_a_closed_deviation_does_not_hold_the_lot_registered_later(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await harness.deliver(raised(), subject=COI)
    [deviation] = (await client.get("/deviations", params={"coi": COI})).json()
    url = f"/deviations/{deviation['deviation_id']}"
    await investigated(client, url, "major")
    r = await signed(client, f"{url}/close", no_capa("no impact"), QA)
    assert r.status_code == 200 and r.json()["state"] == "closed"
    await harness.deliver(produced(), subject=COI)
    assert (await client.get("/deviations", params={"lot_id": "lot-1"})).json() == []


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_a_freezer_run_out_of_its_band_opens_its_deviation_like_any_exception(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    detail = (
        "Freezer run run-7 on CRF-0007 with profile CART-CRF-01 (CART-CRF-01-v1): 1 "
        "excursion(s) outside the band; first: sample -24 °C at 55.0 min outside -55.0 to "
        "-30.0 °C (-10 °C/min to -90 °C); worst: the same"
    )
    freezer = raised("exc-run-7").model_copy(
        update={
            "step_id": "controlled-rate-freezing",
            "step_name": "Controlled-rate freezing",
            "kind": BatchExceptionKind.FREEZING_CURVE_OUT_OF_BAND,
            "parameter": "sample_c",
            "value": "-24 °C at 55.0 min",
            "limit": "-55.0 to -30.0 °C",
            "detail": detail,
        }
    )
    assert await harness.deliver(freezer, subject=COI) is Outcome.PROCESSED
    [deviation] = (await client.get("/deviations", params={"batch_id": "batch-of-lot-1"})).json()
    assert (deviation["classification"], deviation["source"]) == ("major", "batch-exception")
    assert "Controlled-rate freezing" in deviation["description"]
    assert "Freezer run run-7 on CRF-0007" in deviation["description"]
    [named] = deviation["batches"]
    assert named["detail"] == (
        "freezing-curve-out-of-band at Controlled-rate freezing: -24 °C at 55.0 min "
        "(limit -55.0 to -30.0 °C)"
    )
