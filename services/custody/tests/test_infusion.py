"""Infusion: final-product units of this CoI, received and thawed at its treatment center;
the thaw-to-infusion time runs from the recorded thaw, against the product's limit."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from v2v_custody.adapters.config import ProductConfigError, load_thaw_limits
from v2v_custody.bootstrap import build
from v2v_custody.settings import CustodySettings
from v2v_events.contracts.custody import InfusionRecorded
from v2v_runtime.db.tables import events
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock

from .support import BIRTH, MRN, NAME, START, TREATMENT, Custody, assert_problem


async def thawed_then(custody: Custody, coi: str, bags: list[str], minutes: float) -> str:
    """The bags thawed now; the clock ``minutes`` on: the infusion's time."""
    started = await custody.thawed(coi, bags)
    custody.clock.advance(timedelta(minutes=minutes))
    return (started + timedelta(minutes=minutes)).isoformat()


def infusion(units: list[str], infused_at: str | None = None) -> dict[str, object]:
    return {"unit_ids": units, "infused_at": infused_at or START.isoformat()}


@pytest.mark.requirement("EU-PartIV.6.7", "EU-PartIV.16")
async def test_infusion_within_the_limit(custody: Custody) -> None:
    coi = await custody.enroll()
    lot_id = await custody.final_product_at_treatment_center(coi, ["BAG-1", "BAG-2"])
    at = await thawed_then(custody, coi, ["BAG-1", "BAG-2"], 45)
    r = await custody.post(f"/patients/{coi}/infusions", infusion(["BAG-1", "BAG-2"], at))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["coi"], body["unit_ids"], body["treatment_center"]) == (
        coi,
        ["BAG-1", "BAG-2"],
        TREATMENT,
    )
    assert body["thaw_to_infusion_minutes"] == 45
    assert body["thaw_to_infusion_limit_minutes"] == 150
    assert body["flags"] == []
    [published] = await custody.harness.published(InfusionRecorded)
    assert (published.coi, published.unit_ids) == (coi, ["BAG-1", "BAG-2"])
    assert (published.infusion_id, published.lot_ids) == (body["infusion_id"], [lot_id])
    assert (published.thaw_to_infusion_minutes, published.flags) == (45, [])
    assert published.thawed_at.isoformat() == body["thawed_at"].replace("Z", "+00:00")
    for bag in ("BAG-1", "BAG-2"):
        unit = (await custody.get(f"/units/{bag}")).json()
        assert (unit["status"], unit["infusion_id"]) == ("infused", body["infusion_id"])
    patient = (await custody.get(f"/patients/{coi}")).json()
    assert patient["status"] == "infused"
    assert [i["infusion_id"] for i in patient["infusions"]] == [body["infusion_id"]]

    # Reported again: the same infusion, nothing new.
    again = await custody.post(f"/patients/{coi}/infusions", infusion(["BAG-2", "BAG-1"], at))
    assert again.status_code == 200, again.text
    assert again.json()["infusion_id"] == body["infusion_id"]
    assert len(await custody.harness.published(InfusionRecorded)) == 1
    # A different infusion of the same bags is a conflict.
    r = await custody.post(f"/patients/{coi}/infusions", infusion(["BAG-1"]))
    assert_problem(r, 409, "unit-infused")


@pytest.mark.requirement("EU-PartIV.16")
async def test_thaw_to_infusion_above_the_limit_is_flagged_not_refused(
    custody: Custody, caplog: pytest.LogCaptureFixture
) -> None:
    coi = await custody.enroll()
    lot_id = await custody.final_product_at_treatment_center(coi, ["BAG-1"])
    at = await thawed_then(custody, coi, ["BAG-1"], 151)
    with caplog.at_level(logging.WARNING, logger="v2v.custody"):
        r = await custody.post(f"/patients/{coi}/infusions", infusion(["BAG-1"], at))
    assert r.status_code == 201, r.text
    assert r.json()["flags"] == ["thaw-to-infusion-limit-exceeded"]
    assert r.json()["thaw_to_infusion_minutes"] == 151
    # published with its flag and lot: QC opens a deviation on the lot for it
    [published] = await custody.harness.published(InfusionRecorded)
    assert published.flags == ["thaw-to-infusion-limit-exceeded"]
    assert (published.lot_ids, published.thaw_to_infusion_limit_minutes) == ([lot_id], 150)
    assert published.infusion_id == r.json()["infusion_id"]
    async with custody.harness.kit.sessions() as s:
        [payload] = (
            await s.execute(
                select(events.c.payload).where(events.c.event_type == "custody.infusion.recorded")
            )
        ).scalars()
    assert payload["flags"] == ["thaw-to-infusion-limit-exceeded"]
    assert payload["thaw_to_infusion_limit_minutes"] == 150
    [warning] = [rec for rec in caplog.records if "thaw-to-infusion" in rec.getMessage()]
    assert warning.levelno == logging.WARNING
    assert warning.__dict__["coi"] == coi
    logged = repr(warning.__dict__)
    for pii in (NAME, BIRTH, MRN):
        assert pii not in logged


@pytest.mark.requirement("EU-Annex11.10", "EU-PartIV.16")
async def test_the_limit_is_product_configuration(custody: Custody, tmp_path: Path) -> None:
    coi = await custody.enroll()
    await custody.final_product_at_treatment_center(coi, ["BAG-1"])
    at = await thawed_then(custody, coi, ["BAG-1"], 150)
    r = await custody.post(f"/patients/{coi}/infusions", infusion(["BAG-1"], at))
    assert r.json()["flags"] == []  # at the limit is within it

    # A product of its own limit; another product without one gets the site's default.
    products = tmp_path / "products.json"
    products.write_text(
        json.dumps(
            {
                "format": "v2v-custody-products/1",
                "products": {
                    "S7FAST": {"config_version": "S7FAST-1", "thaw_to_infusion_limit_minutes": 30}
                },
            }
        )
    )
    strict = CustodySettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "strict"),
        thaw_to_infusion_limit_minutes=60,
        products_config=products,
    )
    harness = ServiceHarness(build(strict, clock=StepClock(START), ids=SeqIds()))
    await harness.start()
    try:
        async with harness.client() as client:
            other = Custody(harness, client)
            limits = []
            for product, bag in (("S7FAST", "BAG-F"), ("S1234", "BAG-D")):
                coi = await other.enroll(product_code=product)
                await other.final_product_at_treatment_center(coi, [bag])
                at = await thawed_then(other, coi, [bag], 45)
                r = await other.post(f"/patients/{coi}/infusions", infusion([bag], at))
                assert r.status_code == 201, r.text
                limits.append((r.json()["thaw_to_infusion_limit_minutes"], r.json()["flags"]))
        assert limits == [(30, ["thaw-to-infusion-limit-exceeded"]), (60, [])]
    finally:
        await harness.close()


def test_a_products_configuration_is_checked(tmp_path: Path) -> None:
    assert load_thaw_limits() == {"S1234": 150}  # the packaged one
    bad = tmp_path / "products.json"
    for products in (
        {"S1": {"config_version": "1", "thaw_to_infusion_limit_minutes": 0}},
        {"X123": {"config_version": "1", "thaw_to_infusion_limit_minutes": 30}},
        {"S1": {"thaw_to_infusion_limit_minutes": 30}},
    ):
        bad.write_text(json.dumps({"format": "v2v-custody-products/1", "products": products}))
        with pytest.raises(ProductConfigError):
            load_thaw_limits(bad)


@pytest.mark.requirement("21CFR11.10(f)", "EU-PartIV.9")
async def test_infusion_rules(custody: Custody) -> None:
    coi = await custody.enroll()
    other = await custody.enroll()
    apheresis = (await custody.collect(coi))["unit_id"]
    await custody.final_product_at_treatment_center(coi, ["BAG-1", "BAG-3"])
    await custody.final_product_at_treatment_center(other, ["BAG-9"])
    await custody.produce_lot(coi, ["BAG-2"])  # registered, never received
    started = await custody.thawed(coi, ["BAG-1"])
    await custody.thawed(other, ["BAG-9"])
    custody.clock.advance(timedelta(minutes=30))
    at = (started + timedelta(minutes=20)).isoformat()
    url = f"/patients/{coi}/infusions"
    before_thaw = (started - timedelta(minutes=1)).isoformat()
    in_future = (started + timedelta(hours=2)).isoformat()
    cases = [
        (infusion(["BAG-1"], before_thaw), 422, "infusion-before-thaw"),
        (infusion(["BAG-2"], at), 422, "unit-not-at-treatment-center"),
        (infusion([apheresis], at), 422, "unit-not-final-product"),
        (infusion(["BAG-9"], at), 422, "unit-not-of-patient"),
        (infusion(["BAG-404"], at), 422, "unit-unknown"),
        (infusion(["BAG-1", "BAG-1"], at), 422, "duplicate-units"),
        (infusion(["BAG-1"], in_future), 422, "infusion-in-future"),
        (infusion([], at), 422, "validation"),
        ({**infusion(["BAG-1"]), "infused_at": "2026-11-24T07:00:00"}, 422, "validation"),
    ]
    for body, status, code in cases:
        assert_problem(await custody.post(url, body), status, code)
    # BAG-3 was received but its thaw not recorded: the infusion says to record it first
    problem = assert_problem(await custody.post(url, infusion(["BAG-1", "BAG-3"], at)), 409)
    assert problem["type"].endswith(":unit-not-thawed") and problem["unit_id"] == "BAG-3"
    assert f"POST /patients/{coi}/units/BAG-3/thaw" in problem["detail"]
    # the thaw's time is the recorded one: an infusion naming its own is refused, saying so
    body = {**infusion(["BAG-1"], at), "thawed_at": started.isoformat()}
    problem = assert_problem(await custody.post(url, body), 422, "validation")
    assert "record each unit's thaw first" in str(problem)
    assert_problem(
        await custody.post("/patients/CHA1B2C26000999/infusions", infusion(["BAG-1"], at)),
        404,
        "patient-not-found",
    )
    assert await custody.harness.published(InfusionRecorded) == []
    assert (await custody.get("/units/BAG-1")).json()["status"] == "received"
