"""Issue 15's first Done-when on the real stack, through HTTP and Kafka only: a logger
excursion on a delivered shipment and a receipt mismatch each open a deviation in QC by
themselves (custody's receipt.refused and logistics' shipment.delivered, over Kafka).

The patient's product runs on the default policy (deadlines in days): the journey books the
collection and the inbound shipment, and nothing else moves while the test looks."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from v2v_cli.journeys import (
    PROBLEM,
    QA_REVIEWER,
    RECEIVER,
    Driver,
    Endpoints,
    Patient,
)

from .support import eventually

pytestmark = pytest.mark.integration

SITE = "manufacturing-site-1"  # the demo QA reviewer's and materials handler's site


def another_coi(coi: str) -> str:
    """A CoI of the same shape that is not ``coi``: what a wrong label would carry."""
    last = "A" if coi[-1] != "A" else "B"
    return coi[:-1] + last


@pytest.mark.requirement("EU-PartIV.9", "EU-PartIV.10.5", "EU-PartIV.11.4")
async def test_a_logger_excursion_and_a_receipt_mismatch_each_open_a_deviation(
    platform: Endpoints,
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    patient = Patient(f"Raise Testperson{tag}", "1968-05-17", f"MRN-R{tag}", product_code="S1234")
    driver = Driver(platform, log=lambda _: None, timeout=120)

    async def get(url: str) -> list[dict[str, Any]]:
        """As QA (the demo QA reviewer sees manufacturing-site-1)."""
        r = await driver.http.get(url, headers=await driver.headers(QA_REVIEWER))
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()
        return found

    try:
        coi = await driver.enroll(patient)
        collected = await driver.collect(coi, patient, 1)
        unit = collected["unit_id"]
        # fresh apheresis at 2-8 °C: one reading at 12.5 °C is an excursion
        await driver.ship(coi, patient, "inbound", 1, [4.1, 12.5, 5.0], [unit])
        shipments = await get(f"{platform.logistics}/shipments?coi={coi}&direction=inbound")
        [shipment] = [s for s in shipments if s["status"] == "delivered"]
        assert shipment["logger"]["excursion"] is True

        # the apheresis unit scanned at the manufacturing site under a wrong label's CoI
        scan = {
            "unit_id": unit,
            "scanned_coi": another_coi(coi),
            "scanned_din": collected["din"],
            "location": SITE,
            "location_kind": "manufacturing-site",
            "temperature_c": 5.0,
            "minutes_out_of_storage": 4.0,
        }
        refused = await driver.http.post(
            f"{platform.custody}/receipts", json=scan, headers=await driver.headers(RECEIVER)
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"] == f"{PROBLEM}receipt-mismatch"
        assert refused.json()["reason"] == "coi-mismatch"

        async def raised() -> list[dict[str, Any]]:
            return await get(f"{platform.qc}/deviations?coi={coi}")

        found = await eventually(raised, lambda d: len(d) >= 2, timeout=90)
        by_source = {d["source"]: d for d in found}
        assert sorted(by_source) == ["custody-mismatch", "shipment-excursion"], found
        assert len(found) == 2

        excursion = by_source["shipment-excursion"]
        assert (excursion["classification"], excursion["site"]) == ("major", SITE)
        assert excursion["shipment_id"] == shipment["shipment_id"]
        assert excursion["unit_ids"] == [unit]
        assert "inbound shipment" in excursion["description"]
        assert "12.5 °C" in excursion["description"]

        mismatch = by_source["custody-mismatch"]
        assert (mismatch["classification"], mismatch["site"]) == ("major", SITE)
        assert mismatch["unit_ids"] == [unit]
        assert another_coi(coi) in mismatch["description"]
        assert "coi-mismatch" in mismatch["description"]
        for d in found:
            assert (d["coi"], d["state"], d["classified"]) == (coi, "opened", False)

        # found by the unit, and the excursion by its shipment
        by_unit = await get(f"{platform.qc}/deviations?unit_id={unit}")
        assert {d["deviation_id"] for d in by_unit} == {d["deviation_id"] for d in found}
        by_shipment = await get(f"{platform.qc}/deviations?shipment_id={shipment['shipment_id']}")
        assert [d["deviation_id"] for d in by_shipment] == [excursion["deviation_id"]]
    finally:
        await driver.close()
