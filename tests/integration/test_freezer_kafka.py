"""A controlled-rate freezer run on the real stack, through HTTP only: the seeded CAR-T MBR
made effective (QA's signature at the real Keycloak), a patient's batch of it opened, a
controlled-rate freezer registered in service; a run of the CAR-T profile whose sample
probe reads above the band — an aborted run — recorded (signed by the specialist) raises a
batch exception, and QC opens a deviation for it over Kafka."""

from __future__ import annotations

import asyncio
import secrets
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from v2v_batch.application.load_mbrs import SEEDS, read_seed
from v2v_cli.journeys import QA_REVIEWER, SPECIALIST, SUPERVISOR, Driver, Endpoints, Patient

from .mbr_batches import SITE, effective_mbr
from .support import batch_of_new_patient, eventually

pytestmark = pytest.mark.integration

READINGS = 12  # the profile compares 10 readings per probe at least


@pytest.mark.requirement("EU-PartIV.9", "EU-PartIV.11.4", "EU-PartIV.5", "EU-Annex11.5")
async def test_a_freezer_run_outside_its_profile_band_opens_a_deviation_in_qc(
    platform: Endpoints,
) -> None:
    product = "S2F" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(4))
    freezer = f"CRF-IT-{uuid.uuid4().hex[:6].upper()}"
    seed = read_seed(next(SEEDS.glob("S2CART*.json")))
    driver = Driver(platform, log=lambda _: None, timeout=120)
    try:
        await effective_mbr(driver, platform, product, seed.content.model_dump(mode="json"))
        now = datetime.now(UTC)
        instrument = {
            "equipment_id": freezer,
            "equipment_type": "controlled-rate-freezer",
            "name": "Planer Kryo 560-16",
            "site": SITE,
            "location": "cryo room 1.08",
            "calibration": {"interval_days": 365, "due_at": (now + timedelta(days=60)).isoformat()},
            "in_service_from": (now - timedelta(days=30)).isoformat(),
        }
        await driver._call("POST", f"{platform.batch}/equipment", SUPERVISOR, instrument)

        patient = Patient(
            name="Frida Frost", birth_date="1968-02-11", mrn="MRN-CRF-1", product_code=product
        )
        batch = await batch_of_new_patient(driver, platform.batch, patient, SITE)
        batch_id = batch["batch_id"]
        # The run began after the batch opened and was aborted seconds later, the sample
        # probe at +15 °C while the profile holds +4 °C (band 1 to 7 °C).
        started = datetime.fromisoformat(batch["opened_at"]) + timedelta(seconds=1)
        await asyncio.sleep(READINGS + 2)
        run = {
            "equipment_id": freezer,
            "profile_id": "CART-CRF-01",
            "started_at": started.isoformat(),
            "ended_at": (started + timedelta(seconds=READINGS)).isoformat(),
            "curve": [
                {"offset_s": float(t), "chamber_c": 4.0, "sample_c": 15.0} for t in range(READINGS)
            ],
            "bag_count": 2,
            "comment": "run aborted: sample bag warm at loading",
        }
        url = f"{platform.batch}/batches/{batch_id}/freezer-runs"
        recorded = await driver._signed(url, SPECIALIST, run)
        assert not recorded["in_band"] and not recorded["completed"]
        assert recorded["worst_excursion"]["probe"] == "sample"
        record = await driver._call("GET", f"{platform.batch}/batches/{batch_id}", SPECIALIST)
        [exception] = record["execution"]["exceptions"]
        assert exception["kind"] == "freezing-curve-out-of-band"
        assert exception["freezer_run_id"] == recorded["run_id"]

        async def deviations() -> list[Any]:
            found: list[Any] = await driver._call(
                "GET", f"{platform.qc}/deviations?batch_id={batch_id}", QA_REVIEWER
            )
            return found

        [deviation] = await eventually(deviations, bool, timeout=60)
        assert (deviation["source"], deviation["classification"]) == ("batch-exception", "major")
        assert exception["exception_id"] in deviation["description"]
        assert f"Freezer run {recorded['run_id']} on {freezer}" in deviation["description"]
        [named] = deviation["batches"]
        assert named["detail"].startswith("freezing-curve-out-of-band at Controlled-rate freezing")
    finally:
        await driver.close()
