"""Environmental monitoring tied to the batch record on the real stack, through HTTP only:
a small MBR authored by the site's supervisor and approved by QA (signed at the real
Keycloak), its SOP in the register and the specialist trained on it, a clean room in the
register; a patient's batch with a step done in that room; a settle plate above its action
limit recorded by QC — QC opens a deviation on the batch over Kafka, and the batch record
shows the excursion at the step."""

from __future__ import annotations

import asyncio
import secrets
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from v2v_cli.journeys import (
    ANALYST,
    QA_REVIEWER,
    SPECIALIST,
    SUPERVISOR,
    Driver,
    Endpoints,
    Patient,
)

from .mbr_batches import effective_mbr
from .support import batch_of_new_patient, eventually

pytestmark = pytest.mark.integration

SITE = "manufacturing-site-1"  # the demo supervisor's, specialist's, analyst's and QA's site


def content(sop: str) -> dict[str, Any]:
    """One operation of one step, done in a clean room under an SOP."""
    return {
        "title": "EM test CAR-T",
        "therapy": "autologous CAR-T",
        "operations": [
            {
                "operation_id": "prep",
                "name": "Preparation",
                "steps": [
                    {
                        "step_id": "receipt",
                        "name": "Apheresis receipt",
                        "instructions": "Inspect the bag in the grade B room.",
                        "sop": {"document_id": sop, "version": "1"},
                        "parameters": [
                            {"name": "bag_intact", "label": "Bag intact", "type": "boolean"}
                        ],
                    }
                ],
            }
        ],
    }


@pytest.mark.requirement("EU-Annex1.9", "EU-PartIV.6.4", "EU-PartIV.11.4")
async def test_an_action_limit_result_in_a_room_a_batch_used_opens_a_deviation_and_shows(
    platform: Endpoints,
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    product = "S2E" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(4))
    sop, room = f"SOP-EM-{tag}", f"IT-B-{tag}"
    now = datetime.now(UTC)
    driver = Driver(platform, log=lambda _: None, timeout=120)
    batch_url = platform.batch
    try:
        # the registers: the SOP, the specialist trained on it, the room
        await driver._call(
            "POST",
            f"{batch_url}/sops",
            QA_REVIEWER,
            {
                "document_id": sop,
                "version": 1,
                "title": "Apheresis receipt",
                "effective_at": (now - timedelta(days=60)).isoformat(),
                "training_due_at": (now - timedelta(days=70)).isoformat(),
            },
        )
        specialist = await driver.tokens.subject(SPECIALIST)
        await driver._call(
            "POST",
            f"{batch_url}/people/{specialist}/qualifications",
            SUPERVISOR,
            {
                "kind": "sop",
                "document_id": sop,
                "sop_version": 1,
                "valid_from": (now - timedelta(days=30)).isoformat(),
                "reference": f"TR-{sop}",
            },
        )
        registered = {"room_id": room, "name": "Grade B suite (IT)", "grade": "B", "site": SITE}
        await driver._call("POST", f"{batch_url}/rooms", SUPERVISOR, registered)

        # the MBR, approved, and effective through its change control
        await effective_mbr(driver, platform, product, content(sop))

        # a patient's batch of the product, its step done in the room
        patient = Patient(
            name="Ema Beispiel", birth_date="1969-05-06", mrn=f"MRN-EM-{tag}", product_code=product
        )
        batch = await batch_of_new_patient(driver, batch_url, patient, SITE)
        batch_id = batch["batch_id"]
        await asyncio.sleep(0.5)
        started = datetime.fromisoformat(batch["opened_at"])
        step = {
            "room": room,
            "started_at": started.isoformat(),
            "ended_at": (datetime.now(UTC) - timedelta(milliseconds=200)).isoformat(),
            "values": {"bag_intact": {"value": True}},
        }
        done = await driver._signed(
            f"{batch_url}/batches/{batch_id}/steps/receipt", SPECIALIST, step
        )
        assert done["room"] == room

        # QC reads the settle plate exposed during the step: 7 CFU/4 h, action limit 5
        plate = {
            "room_id": room,
            "sample_type": "settle-plate",
            "sample_id": f"SP-{tag}",
            "location": "B-SP-04 beside the bench",
            "sampled_at": started.isoformat(),
            "occupancy": "in-operation",
            "value": 7,
            "unit": "CFU/4 h",
        }
        result = await driver._call("POST", f"{batch_url}/environment/results", ANALYST, plate)
        assert (result["level"], result["edition"]) == ("action", "EU GMP Annex 1 (2022)")

        async def deviations() -> list[Any]:
            found: list[Any] = await driver._call(
                "GET", f"{platform.qc}/deviations?batch_id={batch_id}", QA_REVIEWER
            )
            return found

        [deviation] = await eventually(deviations, bool, timeout=60)
        assert (deviation["source"], deviation["classification"]) == (
            "environmental-monitoring",
            "major",
        )
        assert [b["batch_id"] for b in deviation["batches"]] == [batch_id]
        assert room in deviation["description"] and result["result_id"] in deviation["description"]

        record = await driver._call("GET", f"{batch_url}/batches/{batch_id}", SPECIALIST)
        [receipt] = record["execution"]["steps"]
        [shown] = receipt["environment"]
        assert (shown["result_id"], shown["level"], shown["room_id"]) == (
            result["result_id"],
            "action",
            room,
        )
        review = await driver._call("GET", f"{batch_url}/batches/{batch_id}/review", QA_REVIEWER)
        assert [r["result_id"] for r in review["environment"]] == [result["result_id"]]
    finally:
        await driver.close()
