"""Holds on the real stack (issue 15 §1), through HTTP and Kafka only: a released unit at the
treatment center; a deviation opened in QC on its lot, triaged and contained naming the
unit: QC holds the unit and its lot, custody learns it over Kafka and refuses the thaw (409
``unit-held``, the refusal kept) and the infusion; the hold's release without a signature is
428 with the content to sign, and with QA's signature at Keycloak the unit thaws."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from v2v_cli.journeys import (
    COURIER,
    NURSE,
    QA_REVIEWER,
    RECEIVER,
    SUPERVISOR,
    Driver,
    Endpoints,
    Patient,
    Plan,
)

from .conftest import THAW_TEST_PRODUCT
from .support import eventually

pytestmark = pytest.mark.integration
HELD = "urn:vein2vein:problem:unit-held"


def problem_type(r: httpx.Response) -> str:
    body: dict[str, Any] = r.json()
    return str(body.get("type", ""))


@pytest.mark.requirement("EU-PartIV.11.4", "EU-PartIV.6.7", "21CFR11.50(a)", "EU-Annex11.5")
async def test_a_held_unit_is_neither_thawed_nor_infused_until_qa_signs_its_release(
    platform: Endpoints,
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    patient = Patient(f"Hal Testperson{tag}", "1971-05-02", f"MRN-H{tag}", THAW_TEST_PRODUCT)
    center, site = patient.treatment_center, patient.manufacturing_site
    log: list[str] = []
    driver = Driver(platform, log=log.append, timeout=150)
    try:
        coi = await driver.enroll(patient)
        await driver.collected_and_received(coi, patient, Plan())
        attempt = await driver._current_attempt(coi, site)
        lot, _ = await driver.in_specification(coi, patient, Plan(), attempt)
        lot_id, bag = lot["lot_id"], lot["bag_ids"][0]
        await driver.release(coi, site, lot_id)
        await driver.hand_over(
            bag, site, driver.person(RECEIVER, site), driver.person(COURIER, site), -180.0
        )
        await driver.receive(coi, bag, None, center, "treatment-center")
        await driver.released_in_custody(center, [bag])
        nurse, qa = driver.person(NURSE, center), driver.person(QA_REVIEWER, site)
        custody, qc = platform.custody, platform.qc

        # A deviation on the lot (the supervisor), triaged by QA, contained naming the bag.
        opened = await driver._call(
            "POST",
            f"{qc}/deviations",
            driver.person(SUPERVISOR, site),
            {
                "coi": coi,
                "lot_id": lot_id,
                "classification": "major",
                "source": "storage-excursion",
                "description": "LN2 dewar above -150 C for 25 min before dispatch",
            },
        )
        url = f"{qc}/deviations/{opened['deviation_id']}"
        triage = {"classification": "major", "rationale": "product temperature unknown"}
        await driver._signed(f"{url}/classification", qa, triage)
        containment = {
            "actions": "bag tagged on hold at the treatment center",
            "affected": [{"kind": "unit", "id": bag}],
        }
        view = await driver._call(
            "POST", f"{url}/containment", driver.person(SUPERVISOR, site), containment
        )
        assert view["state"] == "contained"

        # Custody learns the holds over Kafka: the infusion is refused (nothing recorded) ...
        infusion_url = f"{custody}/patients/{coi}/infusions"

        async def infusion_refusal() -> str:
            body = {"unit_ids": [bag], "infused_at": datetime.now(UTC).isoformat()}
            r = await driver._request("POST", infusion_url, nurse, body)
            assert r.status_code == 409, r.text
            return problem_type(r)

        await eventually(infusion_refusal, lambda t: t == HELD, timeout=60)
        # ... and so is the thaw: 409 unit-held naming the holds, the refusal kept.
        thaw_url = f"{custody}/patients/{coi}/units/{bag}/thaw"
        refused = await driver._signed_request(
            thaw_url, nurse, {"thaw_started_at": datetime.now(UTC).isoformat()}
        )
        assert (refused.status_code, problem_type(refused)) == (409, HELD), refused.text
        deviation_id = opened["deviation_id"]
        assert refused.json()["deviation_ids"] == [deviation_id]
        holds = await driver._call("GET", f"{qc}/holds?deviation_id={deviation_id}", qa)
        assert sorted((h["item_kind"], h["item_id"]) for h in holds) == [
            ("lot", lot_id),
            ("unit", bag),
        ]
        assert sorted(refused.json()["hold_ids"]) == sorted(h["hold_id"] for h in holds)
        [kept] = await driver._call("GET", f"{custody}/units/{bag}/thaws", nurse)
        assert (kept["outcome"], kept["reason_code"]) == ("refused", "unit-held")

        # Lifting a hold without a signature: 428 with the content, nothing released.
        release = {"reason": "logger data recovered: storage within limits"}
        first = holds[0]["hold_id"]
        r = await driver._request("POST", f"{qc}/holds/{first}/release", qa, release)
        assert r.status_code == 428, r.text
        assert r.json()["content"]["meaning"] == "released"
        assert (await driver._call("GET", f"{qc}/holds/{first}", qa))["state"] == "placed"
        # QA signs at Keycloak, for each hold: the unit is free again.
        for hold in holds:
            done = await driver._signed(f"{qc}/holds/{hold['hold_id']}/release", qa, release)
            assert done["state"] == "released"
        await eventually(infusion_refusal, lambda t: t != HELD, timeout=60)
        thawed = await driver.thaw(coi, center, bag)
        assert thawed["outcome"] == "thawed"
    except BaseException:
        print("\n".join(log))
        raise
    finally:
        await driver.close()
