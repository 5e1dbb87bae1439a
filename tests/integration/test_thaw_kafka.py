"""Thaw and infusion at the treatment center on the real stack (issue 14 §1), through HTTP
only, the journey walked by the Driver: a bag that reaches the treatment center before QA
released its lot is not thawed (409, the refusal kept); once QA releases it in QC, custody
learns it over Kafka and the nurse's signed thaw is recorded; infused past the product's
thaw-to-infusion limit, the infusion is recorded, flagged, and QC opens its deviation over
Kafka."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from v2v_cli.journeys import (
    COURIER,
    NURSE,
    QA_REVIEWER,
    RECEIVER,
    Driver,
    Endpoints,
    Patient,
    Plan,
)
from v2v_cli.tokens import TokenBroker

from .conftest import THAW_TEST_LIMIT_MINUTES, THAW_TEST_PRODUCT
from .support import eventually

pytestmark = pytest.mark.integration


@pytest.mark.requirement("EU-PartIV.16", "EU-PartIV.6.7", "EU-Annex11.5")
async def test_a_held_units_thaw_is_refused_and_a_late_infusion_raises_a_deviation(
    platform: Endpoints, tokens: TokenBroker
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    patient = Patient(f"Tia Testperson{tag}", "1968-02-14", f"MRN-T{tag}", THAW_TEST_PRODUCT)
    center, site = patient.treatment_center, patient.manufacturing_site
    log: list[str] = []
    driver = Driver(platform, log=log.append, timeout=150)
    try:
        coi = await driver.enroll(patient)
        await driver.collected_and_received(coi, patient, Plan())
        attempt = await driver._current_attempt(coi, site)
        lot, _ = await driver.in_specification(coi, patient, Plan(), attempt)
        bag = lot["bag_ids"][0]
        nurse = driver.person(NURSE, center)
        custody = platform.custody
        # The bag reaches the treatment center before QA decided on its lot.
        await driver.hand_over(
            bag, site, driver.person(RECEIVER, site), driver.person(COURIER, site), -180.0
        )
        await driver.receive(coi, bag, None, center, "treatment-center")
        unit = await driver._call("GET", f"{custody}/units/{bag}", nurse)
        assert (unit["status"], unit["lot_disposition"]) == ("received", None), unit

        # Thawing it is refused: not released; nothing signed, the refusal kept.
        url = f"{custody}/patients/{coi}/units/{bag}/thaw"
        started = {"thaw_started_at": datetime.now(UTC).isoformat()}
        refused = await driver._signed_request(url, nurse, started)
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"] == "urn:vein2vein:problem:unit-not-released"
        [kept] = await driver._call("GET", f"{custody}/units/{bag}/thaws", nurse)
        assert (kept["outcome"], kept["reason_code"], kept["signatures"]) == (
            "refused",
            "unit-not-released",
            [],
        )

        # QA releases the lot in QC (signed); custody learns it over Kafka; the thaw works.
        await driver.release(coi, site, lot["lot_id"])
        await driver.released_in_custody(center, [bag])
        thawed = await driver.thaw(coi, center, bag)
        nurse_id = await tokens.subject(NURSE)
        assert thawed["outcome"] == "thawed"
        assert [(s["meaning"], s["signer_id"]) for s in thawed["signatures"]] == [
            ("performed", nurse_id)
        ]

        # Infused past the product's limit (seconds): recorded, flagged, never refused.
        await asyncio.sleep(THAW_TEST_LIMIT_MINUTES * 60 + 1)
        infused = await driver._signed(
            f"{custody}/patients/{coi}/infusions",
            nurse,
            {"unit_ids": [bag], "infused_at": datetime.now(UTC).isoformat()},
        )
        assert infused["flags"] == ["thaw-to-infusion-limit-exceeded"], infused
        assert infused["thaw_to_infusion_limit_minutes"] == THAW_TEST_LIMIT_MINUTES
        assert infused["thaw_to_infusion_minutes"] > THAW_TEST_LIMIT_MINUTES
        assert infused["thawed_at"] == thawed["thaw_started_at"]

        # QC opens one deviation for it, on the lot, over Kafka.
        async def deviations() -> list[Any]:
            found: list[Any] = await driver._call(
                "GET", f"{platform.qc}/deviations?coi={coi}", QA_REVIEWER
            )
            return [d for d in found if d["source"] == "thaw-to-infusion-limit"]

        [deviation] = await eventually(deviations, bool, timeout=60)
        assert (deviation["lot_id"], deviation["classification"], deviation["state"]) == (
            lot["lot_id"],
            "major",
            "opened",
        )
        assert infused["infusion_id"] in deviation["description"]
    except BaseException:
        print("\n".join(log))
        raise
    finally:
        await driver.close()
