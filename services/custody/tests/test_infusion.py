"""Infusion: final-product units of this CoI, received at its treatment center."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from v2v_custody.bootstrap import build
from v2v_custody.settings import CustodySettings
from v2v_events.contracts.custody import InfusionRecorded
from v2v_runtime.db.tables import events
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock

from .support import BIRTH, MRN, NAME, START, TREATMENT, Custody, assert_problem


def infusion(units: list[str], minutes: float = 30, *, ago: float = 60) -> dict[str, object]:
    thawed = START - timedelta(minutes=ago)
    return {
        "unit_ids": units,
        "thawed_at": thawed.isoformat(),
        "infused_at": (thawed + timedelta(minutes=minutes)).isoformat(),
    }


@pytest.mark.requirement("EU-PartIV.6.7", "EU-PartIV.16")
async def test_infusion_within_the_limit(custody: Custody) -> None:
    coi = await custody.enroll()
    await custody.final_product_at_treatment_center(coi, ["BAG-1", "BAG-2"])
    r = await custody.post(f"/patients/{coi}/infusions", infusion(["BAG-1", "BAG-2"], 45))
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
    for bag in ("BAG-1", "BAG-2"):
        unit = (await custody.get(f"/units/{bag}")).json()
        assert (unit["status"], unit["infusion_id"]) == ("infused", body["infusion_id"])
    patient = (await custody.get(f"/patients/{coi}")).json()
    assert patient["status"] == "infused"
    assert [i["infusion_id"] for i in patient["infusions"]] == [body["infusion_id"]]

    # Reported again: the same infusion, nothing new.
    again = await custody.post(f"/patients/{coi}/infusions", infusion(["BAG-2", "BAG-1"], 45))
    assert again.status_code == 200, again.text
    assert again.json()["infusion_id"] == body["infusion_id"]
    assert len(await custody.harness.published(InfusionRecorded)) == 1
    # A different infusion of the same bags is a conflict.
    r = await custody.post(f"/patients/{coi}/infusions", infusion(["BAG-1"], 20))
    assert_problem(r, 409, "unit-infused")


@pytest.mark.requirement("EU-PartIV.16")
async def test_thaw_to_infusion_above_the_limit_is_flagged_not_refused(
    custody: Custody, caplog: pytest.LogCaptureFixture
) -> None:
    coi = await custody.enroll()
    await custody.final_product_at_treatment_center(coi, ["BAG-1"])
    with caplog.at_level(logging.WARNING, logger="v2v.custody"):
        r = await custody.post(f"/patients/{coi}/infusions", infusion(["BAG-1"], 151, ago=200))
    assert r.status_code == 201, r.text
    assert r.json()["flags"] == ["thaw-to-infusion-limit-exceeded"]
    assert r.json()["thaw_to_infusion_minutes"] == 151
    assert len(await custody.harness.published(InfusionRecorded)) == 1
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
async def test_the_limit_is_configuration(custody: Custody, tmp_path: Path) -> None:
    coi = await custody.enroll()
    await custody.final_product_at_treatment_center(coi, ["BAG-1"])
    r = await custody.post(f"/patients/{coi}/infusions", infusion(["BAG-1"], 150, ago=200))
    assert r.json()["flags"] == []  # at the limit is within it

    strict = CustodySettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "strict"),
        thaw_to_infusion_limit_minutes=30,
    )
    harness = ServiceHarness(build(strict, clock=StepClock(START), ids=SeqIds()))
    await harness.start()
    try:
        async with harness.client() as client:
            other = Custody(harness, client)
            coi = await other.enroll()
            await other.final_product_at_treatment_center(coi, ["BAG-1"])
            r = await other.post(f"/patients/{coi}/infusions", infusion(["BAG-1"], 45))
        assert r.status_code == 201, r.text
        assert r.json()["flags"] == ["thaw-to-infusion-limit-exceeded"]
        assert r.json()["thaw_to_infusion_limit_minutes"] == 30
    finally:
        await harness.close()


@pytest.mark.requirement("21CFR11.10(f)", "EU-PartIV.9")
async def test_infusion_rules(custody: Custody) -> None:
    coi = await custody.enroll()
    other = await custody.enroll()
    apheresis = (await custody.collect(coi))["unit_id"]
    await custody.final_product_at_treatment_center(coi, ["BAG-1"])
    await custody.final_product_at_treatment_center(other, ["BAG-9"])
    await custody.produce_lot(coi, ["BAG-2"])  # registered, never received
    url = f"/patients/{coi}/infusions"
    backwards = infusion(["BAG-1"])
    backwards["infused_at"], backwards["thawed_at"] = (
        backwards["thawed_at"],
        backwards["infused_at"],
    )
    cases = [
        (backwards, 422, "infusion-before-thaw"),
        (infusion(["BAG-2"]), 422, "unit-not-at-treatment-center"),
        (infusion([apheresis]), 422, "unit-not-final-product"),
        (infusion(["BAG-9"]), 422, "unit-not-of-patient"),
        (infusion(["BAG-404"]), 422, "unit-unknown"),
        (infusion(["BAG-1", "BAG-1"]), 422, "duplicate-units"),
        (infusion(["BAG-1"], ago=-60), 422, "infusion-in-future"),
        (infusion([]), 422, "validation"),
        ({**infusion(["BAG-1"]), "infused_at": "2026-11-24T07:00:00"}, 422, "validation"),
    ]
    for body, status, code in cases:
        assert_problem(await custody.post(url, body), status, code)
    assert_problem(
        await custody.post("/patients/CHA1B2C26000999/infusions", infusion(["BAG-1"])),
        404,
        "patient-not-found",
    )
    assert await custody.harness.published(InfusionRecorded) == []
    assert (await custody.get("/units/BAG-1")).json()["status"] == "received"
