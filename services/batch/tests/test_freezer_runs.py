"""Controlled-rate freezer runs through the API: a run of an MBR-executed batch, signed by
who performed it, its freezer through the equipment register's gate, its curve checked and
compared with the profile's band; outside it, an exception announced to QC that QA
dispositions before the review; shown in the batch record, its PDF and the run's own reads;
bad curves and bags refused naming the field, with nothing recorded."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from v2v_events.contracts.batch import BatchExceptionKind, BatchExceptionRaised
from v2v_runtime.testing import ServiceHarness, as_user, signed

from .freezer_support import as_json, ideal, warmed
from .mbr_support import (
    GOOD,
    PRODUCT,
    QA,
    clock,
    content,
    effective_mbr,
    open_mbr_batch,
    param,
    perform,
)
from .support import LOT, OPERATOR, OPERATOR_ID, SITE, VERIFIER, assert_problem, verify

FREEZER = "CRF-0007"
SUPERVISOR = VERIFIER  # keeps the equipment register
AUDITOR = as_user("u-freezer-auditor", "auditor", name="Ada Auditor")
PARIS = as_user(
    "u-freezer-paris", "manufacturing-supervisor", sites=["SITE-PARIS-1"], name="Pia Paris"
)
USED = [{"equipment_id": FREEZER, "equipment_type": "controlled-rate-freezer"}]
FROZEN = {**GOOD["freezing"], "profile": {"value": "CART-CRF-01"}}


def freezing_content(profiles: tuple[str, ...] = ("CART-CRF-01",)) -> dict[str, Any]:
    """The test MBR, its freezing step on a controlled-rate freezer with ``profiles``."""
    body = content()
    freezing = body["operations"][1]["steps"][1]
    freezing["equipment_types"] = ["controlled-rate-freezer"]
    freezing["parameters"].append(param("profile", "choice", choices=list(profiles)))
    return body


async def register_freezer(
    harness: ServiceHarness,
    client: httpx.AsyncClient,
    equipment_id: str = FREEZER,
    equipment_type: str = "controlled-rate-freezer",
) -> None:
    at = clock(harness).current
    r = await client.post(
        "/equipment",
        json={
            "equipment_id": equipment_id,
            "equipment_type": equipment_type,
            "name": "Planer Kryo 560-16",
            "site": SITE,
            "location": "cryo room 1.08",
            "calibration": {"interval_days": 365, "due_at": (at + timedelta(days=30)).isoformat()},
        },
        headers=SUPERVISOR,
    )
    assert r.status_code == 201, r.text


async def freezing_batch(harness: ServiceHarness, client: httpx.AsyncClient) -> str:
    """The freezing MBR effective, the freezer registered, a batch opened."""
    await effective_mbr(harness, client, freezing_content())
    await register_freezer(harness, client)
    return await open_mbr_batch(client, harness)


def run_body(
    harness: ServiceHarness, curve: list[Any] | None = None, **more: Any
) -> dict[str, Any]:
    """A 71-minute run starting 10 minutes from now; the clock moves to 5 minutes after
    its end (the performer records it then)."""
    c = clock(harness)
    start = c.current + timedelta(minutes=10)
    end = start + timedelta(minutes=71)
    c.current = end + timedelta(minutes=5)
    body = {
        "equipment_id": FREEZER,
        "profile_id": "CART-CRF-01",
        "started_at": start.isoformat(),
        "ended_at": end.isoformat(),
        "curve": as_json(ideal()) if curve is None else curve,
        "bag_count": 3,
    }
    return body | more


async def post_run(
    client: httpx.AsyncClient, batch_id: str, body: dict[str, Any], **sign: Any
) -> httpx.Response:
    return await signed(client, f"/batches/{batch_id}/freezer-runs", body, **sign)


async def usage(client: httpx.AsyncClient, equipment_id: str = FREEZER) -> list[dict[str, Any]]:
    r = await client.get(f"/equipment/{equipment_id}/usage", headers=OPERATOR)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


@pytest.mark.requirement("EU-PartIV.6.4", "EU-PartIV.9", "EU-PartIV.5", "21CFR11.50(a)")
async def test_a_run_in_band_is_signed_recorded_and_shown_in_the_batch_record(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    batch_id = await freezing_batch(harness, client)
    body = run_body(harness)
    shown = await client.post(f"/batches/{batch_id}/freezer-runs", json=body)
    problem = assert_problem(shown, 428, "signature-required")
    values = problem["content"]["values"]
    assert (values["equipment_id"], values["step_id"], values["in_band"]) == (
        FREEZER,
        "freezing",
        True,
    )
    assert values["curve"]["points"] == len(body["curve"]) == 141
    assert values["profile"] == {"profile_id": "CART-CRF-01", "version": "CART-CRF-01-v1"}
    assert (await client.get(f"/batches/{batch_id}/freezer-runs")).json() == []

    r = await post_run(client, batch_id, body)
    assert r.status_code == 201, r.text
    run = r.json()
    assert (run["in_band"], run["completed"], run["excursions"], run["exception_id"]) == (
        True,
        True,
        [],
        None,
    )
    assert (run["bag_count"], run["bag_ids"], run["lot_id"]) == (3, [], None)
    assert run["performed_by"]["user_id"] == OPERATOR_ID and not run["late"]
    assert [s["meaning"] for s in run["signatures"]] == ["performed"]
    assert run["probes"] == ["chamber", "sample"] and run["points"] == 141
    assert run["profile"]["segments"][1]["rate_c_per_min"] == -1  # the profile as it ran
    assert run["curve"] == body["curve"]

    record = (await client.get(f"/batches/{batch_id}")).json()
    [listed] = record["execution"]["freezer_runs"]
    assert listed["run_id"] == run["run_id"] and "curve" not in listed
    assert record["execution"]["exceptions"] == []
    assert not await harness.published(BatchExceptionRaised)
    runs = await client.get(f"/batches/{batch_id}/freezer-runs", headers=AUDITOR)
    assert [r["run_id"] for r in runs.json()] == [run["run_id"]]
    one = await client.get(f"/batches/{batch_id}/freezer-runs/{run['run_id']}", headers=AUDITOR)
    assert one.json()["curve"] == body["curve"]
    missing = await client.get(f"/batches/{batch_id}/freezer-runs/nope")
    assert_problem(missing, 404, "freezer-run-not-found")
    # the freezer's use is in its usage log, at the freezing step, by its performer
    [used] = await usage(client)
    assert (used["batch_id"], used["step"], used["used_by"]["user_id"]) == (
        batch_id,
        "freezing",
        OPERATOR_ID,
    )


@pytest.mark.requirement("EU-PartIV.9", "EU-PartIV.11.4", "EU-Annex11.8.1")
async def test_a_run_out_of_band_raises_an_exception_qc_is_told_of_and_qa_dispositions(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    batch_id = await freezing_batch(harness, client)
    for step in ("receipt", "selection", "harvest"):
        assert (await perform(client, harness, batch_id, step)).status_code == 201
    r = await perform(client, harness, batch_id, "freezing", FROZEN, equipment=USED)
    assert r.status_code == 201, r.text
    # the freezer's curve, entered once the run ended: the sample warms 25 °C during the
    # -10 °C/min ramp (band: 20 °C above the programme)
    curve = as_json(warmed(ideal(), 55 * 60, 57 * 60, 25))
    r = await post_run(client, batch_id, run_body(harness, curve, comment="door opened"))
    assert r.status_code == 201, r.text  # recorded: the curve is what the freezer logged
    run = r.json()
    assert not run["in_band"] and run["completed"] and run["exception_id"]
    [excursion] = run["excursions"]
    assert (excursion["probe"], excursion["from_s"], excursion["readings"]) == ("sample", 3300, 5)
    assert run["worst_excursion"] == run["first_excursion"] == excursion

    [exception] = (await client.get(f"/batches/{batch_id}")).json()["execution"]["exceptions"]
    assert (exception["exception_id"], exception["freezer_run_id"]) == (
        run["exception_id"],
        run["run_id"],
    )
    assert (exception["kind"], exception["step_id"], exception["parameter"]) == (
        "freezing-curve-out-of-band",
        "freezing",
        "sample_c",
    )
    assert (exception["value"], exception["limit"]) == ("-24 °C at 55.0 min", "-55.0 to -30.0 °C")
    [announced] = await harness.published(BatchExceptionRaised)
    assert announced.kind is BatchExceptionKind.FREEZING_CURVE_OUT_OF_BAND
    assert (announced.exception_id, announced.batch_id) == (run["exception_id"], batch_id)
    assert announced.mbr.product_code == PRODUCT and announced.step_name == "Freezing"
    assert announced.actor.user_id == OPERATOR_ID and run["run_id"] in announced.detail

    # the review waits for QA's disposition of the run's exception
    assert (await verify(client, batch_id, "harvest")).status_code == 201
    review = await signed(client, f"/batches/{batch_id}/review", {}, QA)
    assert assert_problem(review, 409, "exceptions-undispositioned")["exception_ids"] == [
        run["exception_id"]
    ]
    url = f"/batches/{batch_id}/exceptions/{run['exception_id']}/disposition"
    body = {"disposition": "no-product-impact", "rationale": "2 min, bags below -40 °C"}
    assert (await signed(client, url, body, QA)).status_code == 200
    assert (await signed(client, f"/batches/{batch_id}/review", {}, QA)).status_code == 201
    r = await post_run(client, batch_id, run_body(harness))
    assert_problem(r, 409, "record-reviewed")  # the reviewed record takes no more runs

    # the record's PDF has a section for the run
    pdf = (await client.get(f"/batches/{batch_id}/record.pdf", headers=QA)).content
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    assert f"Controlled-rate freezer run {run['run_id']}" in text
    assert "OUTSIDE THE PROFILE'S BAND" in text and "profile CART-CRF-01 (CART-CRF-01-v1)" in text
    assert "worst: sample -24 °C at 55.0 min outside -55.0 to -30.0 °C" in text
    assert "Bags frozen: 3 bag(s) (lot not produced yet)" in text and "door opened" in text


async def test_bad_curves_and_bags_are_refused_before_signing_naming_the_field(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    batch_id = await freezing_batch(harness, client)
    url = f"/batches/{batch_id}/freezer-runs"
    curve = as_json(ideal())

    async def refused(code: str, field: str | None, **changes: Any) -> None:
        r = await client.post(url, json=run_body(harness, **changes))  # no 428: refused first
        problem = assert_problem(r, 409 if field is None else 422, code)
        assert problem.get("field") == field

    await refused("curve-out-of-order", "curve[2].offset_s", curve=[curve[0], curve[2], curve[1]])
    cold = [*curve[:4], {**curve[4], "sample_c": -215.5}, *curve[5:]]
    await refused("curve-out-of-range", "curve[4].sample_c", curve=cold)
    await refused("curve-too-few-points", "curve", curve=curve[:5])
    await refused("curve-point-empty", "curve[0]", curve=[{"offset_s": 0}, *curve[1:]])
    await refused("freezing-profile-unknown", "profile_id", profile_id="CART-CRF-99")
    await refused("not-a-freezing-step", "step_id", step_id="harvest")
    await refused("bag-not-in-batch", "bag_ids[0]", bag_ids=["BAG-1"])  # no lot yet
    await refused("bag-count-required", "bag_count", bag_count=None)
    await refused("bag-count-out-of-range", "bag_count", bag_count=11)  # 10 at most
    at = clock(harness).current
    await refused(
        "run-ends-in-the-future", "ended_at", ended_at=(at + timedelta(hours=3)).isoformat()
    )
    body = run_body(harness)
    body["ended_at"] = body["started_at"]
    r = await client.post(url, json=body)
    assert assert_problem(r, 422, "run-ends-before-it-starts")["field"] == "ended_at"
    r = await client.post(url, json=run_body(harness, curve=[{**curve[0], "sample_c": "warm"}]))
    assert_problem(r, 422)  # the schema's
    # nothing recorded, nothing used
    assert (await client.get(url)).json() == []
    assert await usage(client) == []
    assert not await harness.published(BatchExceptionRaised)


async def test_a_profile_the_mbr_does_not_name_and_an_mbr_without_a_freezer_are_refused(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await register_freezer(harness, client)
    await effective_mbr(harness, client, freezing_content(("CART-CRF-02",)))
    batch_id = await open_mbr_batch(client, harness)
    r = await client.post(f"/batches/{batch_id}/freezer-runs", json=run_body(harness))
    assert assert_problem(r, 422, "profile-not-in-mbr")["field"] == "profile_id"
    await effective_mbr(
        harness, client, content(), product="S7PLAIN"
    )  # its freezing step: no freezer
    plain = await open_mbr_batch(client, harness, product="S7PLAIN", unit="APH-MBR-2")
    r = await client.post(f"/batches/{plain}/freezer-runs", json=run_body(harness))
    assert_problem(r, 409, "mbr-has-no-freezing-step")
    fixed = await open_mbr_batch(client, harness, product="S1234", unit="APH-FIXED")
    r = await client.post(f"/batches/{fixed}/freezer-runs", json=run_body(harness))
    assert_problem(r, 409, "batch-has-no-mbr")


@pytest.mark.requirement("EU-PartIV.5")
async def test_the_freezer_goes_through_the_equipment_register_and_refusals_are_kept(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    batch_id = await freezing_batch(harness, client)
    await register_freezer(harness, client, "CEN-0042", "centrifuge")
    clock(harness).advance(timedelta(days=31))  # the freezer's calibration fell due
    r = await post_run(client, batch_id, run_body(harness))
    problem = assert_problem(r, 422, "calibration-overdue")
    assert problem["field"] == "equipment_id"
    [kept] = await usage(client)
    assert (kept["refusal"]["code"], kept["batch_id"], kept["step"]) == (
        "calibration-overdue",
        batch_id,
        "freezing",
    )
    r = await post_run(client, batch_id, run_body(harness, equipment_id="CEN-0042"))
    assert_problem(r, 422, "equipment-type-mismatch")
    assert [u["refusal"]["code"] for u in await usage(client, "CEN-0042")] == [
        "equipment-type-mismatch"
    ]
    r = await post_run(client, batch_id, run_body(harness, equipment_id="CRF-9999"))
    assert_problem(r, 422, "equipment-unknown")
    assert (await client.get(f"/batches/{batch_id}/freezer-runs")).json() == []
    # calibrated again: the run is recorded
    calibration = {
        "performed_at": (clock(harness).current - timedelta(hours=1)).isoformat(),
        "as_found": "in-tolerance",
        "as_left": "in-tolerance",
        "certificate_ref": "CAL-CRF-0007-2",
    }
    url = f"/equipment/{FREEZER}/calibrations"
    r = await client.post(url, json=calibration, headers=SUPERVISOR)
    assert r.status_code == 201, r.text
    assert (await post_run(client, batch_id, run_body(harness))).status_code == 201


async def test_once_the_lot_exists_a_run_names_its_bags(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    batch_id = await freezing_batch(harness, client)
    r = await post_run(client, batch_id, run_body(harness))  # before the lot: 3 bags
    assert r.status_code == 201, r.text
    before = r.json()["run_id"]
    for step in ("receipt", "selection", "harvest"):
        assert (await perform(client, harness, batch_id, step)).status_code == 201
    r = await perform(client, harness, batch_id, "freezing", FROZEN, equipment=USED)
    assert r.status_code == 201, r.text
    assert (await verify(client, batch_id, "harvest")).status_code == 201
    r = await client.post(f"/batches/{batch_id}/lot", json=LOT, headers=OPERATOR)
    assert r.status_code == 201, r.text
    lot_id, bags = r.json()["lot_id"], r.json()["bag_ids"]
    url = f"/batches/{batch_id}/freezer-runs"

    async def refused(code: str, field: str, **changes: Any) -> None:
        r = await client.post(url, json=run_body(harness, **changes))
        assert assert_problem(r, 422, code)["field"] == field

    await refused("bag-ids-required", "bag_ids")
    await refused("bag-not-in-batch", "bag_ids[1]", bag_ids=[bags[0], "BAG-OF-ANOTHER"])
    await refused("bag-named-twice", "bag_ids[1]", bag_ids=[bags[0], bags[0]])
    await refused("bag-count-mismatch", "bag_count", bag_ids=bags[:2], bag_count=3)
    r = await post_run(client, batch_id, run_body(harness, bag_ids=bags[:2], bag_count=None))
    assert r.status_code == 201, r.text
    assert (r.json()["bag_ids"], r.json()["bag_count"], r.json()["lot_id"]) == (bags[:2], 2, lot_id)
    await refused("bag-already-frozen", "bag_ids[0]", bag_ids=bags[1:], bag_count=None)
    # the run before the lot is shown with the lot its bags went into
    first, _ = (await client.get(url)).json()
    assert (first["run_id"], first["lot_id"]) == (before, lot_id)


async def test_runs_are_recorded_by_manufacturing_of_the_batchs_site(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    batch_id = await freezing_batch(harness, client)
    url = f"/batches/{batch_id}/freezer-runs"
    assert_problem(await client.post(url, json=run_body(harness), headers=QA), 403)
    assert_problem(await client.post(url, json=run_body(harness), headers=PARIS), 404)
    assert_problem(await client.get(url, headers=PARIS), 404, "batch-not-found")
