"""Conditional release on the real stack (issue 16 §1), through HTTP and Kafka only: a lot
with every result entered but sterility (which its specification allows to be pending at
release); QA's conditional release of a test the specification does not allow pending is
refused (422, nothing released); the release package shows sterility pending and, once the
audit trail is reviewed, no blocker; QA releases conditionally, signed at Keycloak (meaning
conditionally-released); custody learns it over Kafka and the bag is handled to the treatment
center. Then sterility turns positive: QC opens a critical deviation on the lot, mails the
treatment center and the treating physician at once, and holds the lot — custody refuses
the thaw (409 ``unit-held``)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from v2v_cli.journeys import (
    ANALYST,
    COURIER,
    NURSE,
    QA_REVIEWER,
    QC_REVIEWER,
    RECEIVER,
    Driver,
    Endpoints,
    JourneyError,
    Patient,
    Plan,
    passing_value,
)

from .conftest import NOTIFY_CENTER_PHYSICIAN, NOTIFY_CENTER_TEAM, NOTIFY_PHYSICIAN, NOTIFY_TC
from .support import eventually
from .test_notifications import Inbox, arrived, relay

pytestmark = pytest.mark.integration
__all__ = ["relay"]  # the mail relay fixture QC's notifications go to
HELD = "urn:vein2vein:problem:unit-held"


def problem(r: httpx.Response) -> str:
    body: dict[str, Any] = r.json()
    return str(body.get("type", "")).removeprefix("urn:vein2vein:problem:")


async def results_but_sterility(driver: Driver, site: str, lot_id: str, product: str) -> str:
    """The analyst enters (signed) every result but sterility, the QC reviewer reviews them;
    the panel's id."""
    analyst, qc = driver.person(ANALYST, site), driver.ep.qc

    async def ordered() -> list[Any]:
        rows: list[Any] = await driver._call("GET", f"{qc}/panels?lot_id={lot_id}", analyst)
        return rows

    [panel] = await eventually(ordered, bool, timeout=60)
    pid = str(panel["panel_id"])
    spec = await driver._call("GET", f"{qc}/specs/{product}", analyst)
    tests = {t["code"]: t for t in spec["tests"]}
    assert tests["sterility"]["may_be_pending_at_release"] is True
    assert tests["viability"]["may_be_pending_at_release"] is False
    while True:  # re-read: QC computes the dose itself
        current = await driver._call("GET", f"{qc}/panels/{pid}", analyst)
        todo = [c for c in current["pending"] if tests[c]["kind"] != "dose" and c != "sterility"]
        if not todo:
            assert current["pending"] == ["sterility"] and current["status"] == "ordered"
            # the site's QC reviewer reviews the results in hand (sterility may be pending)
            reviewed = await driver._signed(
                f"{qc}/panels/{pid}/review",
                driver.person(QC_REVIEWER, site),
                {"comment": "raw data, calculations and entries checked; sterility pending"},
            )
            assert reviewed["review_status"] == "current", reviewed
            return pid
        code = todo[0]
        body = {"test_code": code, "value": passing_value(tests[code])}
        await driver._signed(
            f"{qc}/panels/{pid}/results", analyst, {**body, "unit": tests[code].get("unit")}
        )


async def release_conditionally(driver: Driver, coi: str, site: str, lot_id: str) -> Any:
    """QA reviews the audit trail, checks the package has no blocker, and releases the lot
    conditionally with sterility pending (both signed; a trail that moved: again)."""
    qa, qc = driver.person(QA_REVIEWER, site), driver.ep.qc
    deadline = time.monotonic() + 90
    while True:
        await driver.review_trail(coi, qa, lot_id)
        package = await driver._call("GET", f"{qc}/lots/{lot_id}/release-package", qa)
        assert package["pending_tests"] == [] and package["decision"] is None
        pending = [r["code"] for r in package["results"] if r["value"] is None]
        assert pending == ["sterility"], package["results"]
        try:
            if package["blockers"]:
                raise JourneyError(str(package["blockers"]))
            return await driver._signed(
                f"{qc}/lots/{lot_id}/decision",
                qa,
                {
                    "decision": "conditional-release",
                    "reason": "all results in specification; 14-day sterility pending",
                    "pending_tests": ["sterility"],
                },
            )
        except JourneyError as exc:
            if "audit-trail-review-stale" not in str(exc) or time.monotonic() > deadline:
                raise


@pytest.mark.requirement("21CFR11.50(a)", "EU-PartIV.11.4", "EU-PartIV.11.3.2")
async def test_a_conditionally_released_lot_whose_sterility_fails_is_held_before_infusion(
    platform: Endpoints, relay: Inbox
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    patient = Patient(f"Cora Testperson{tag}", "1968-03-14", f"MRN-C{tag}")
    center, site = patient.treatment_center, patient.manufacturing_site
    log: list[str] = []
    driver = Driver(platform, log=log.append, timeout=150)
    qc, custody = platform.qc, platform.custody
    try:
        coi = await driver.enroll(patient)
        await driver.collected_and_received(coi, patient, Plan())
        attempt = await driver._current_attempt(coi, site)
        lot = await driver.manufacture(coi, site, attempt, Plan().retained_aliquots)
        lot_id, bag = lot["lot_id"], lot["bag_ids"][0]
        pid = await results_but_sterility(driver, site, lot_id, patient.product_code)
        qa = driver.person(QA_REVIEWER, site)

        # Bad input: a test the specification does not allow pending -> 422, nothing released.
        refused = await driver._signed_request(
            f"{qc}/lots/{lot_id}/decision",
            qa,
            {"decision": "conditional-release", "reason": "r", "pending_tests": ["potency"]},
        )
        assert (refused.status_code, problem(refused)) == (422, "test-may-not-be-pending")
        assert refused.json()["test_codes"] == ["potency"]
        # Nor may the analyst who entered the results release (segregation of duties).
        analyst = driver.person(ANALYST, site)
        by_analyst = await driver._request(
            "POST",
            f"{qc}/lots/{lot_id}/decision",
            analyst,
            {"decision": "conditional-release", "reason": "r", "pending_tests": ["sterility"]},
        )
        assert by_analyst.status_code == 403, by_analyst.text

        decided = await release_conditionally(driver, coi, site, lot_id)
        assert decided["decision"] == "conditional-release"
        assert decided["meaning"] == "conditionally-released"
        assert decided["signature"]["meaning"] == "conditionally-released"
        cert = await driver._call("GET", f"{qc}/certificates/{decided['certificate_id']}", qa)
        assert cert["conditional"] is True and cert["pending_tests"] == ["sterility"]

        # Custody treats it as released: the bag goes to the treatment center.
        await driver.hand_over(
            bag, site, driver.person(RECEIVER, site), driver.person(COURIER, site), -180.0
        )
        await driver.receive(coi, bag, None, center, "treatment-center")
        await driver.released_in_custody(center, [bag])

        # Day 14: sterility positive.
        await driver._signed(
            f"{qc}/panels/{pid}/results", analyst, {"test_code": "sterility", "value": "growth"}
        )
        package = await driver._call("GET", f"{qc}/lots/{lot_id}/release-package", qa)
        assert package["conditional_release_failed"] is True
        [deviation] = [
            d for d in package["deviations"] if d["source"] == "conditional-release-failed"
        ]
        assert deviation["classification"] == "critical" and deviation["open"]
        deviation_id = deviation["deviation_id"]
        [hold] = package["holds"]
        assert hold["deviation_id"] == deviation_id

        # The treatment center and the treating physician are mailed at once (acknowledged).
        url = f"{qc}/notifications?deviation_id={deviation_id}"
        [n] = [x for x in await driver._call("GET", url, qa) if x["trigger"] != "deviation-opened"]
        assert n["trigger"] == "conditional-release-failed"
        mail = await arrived(relay, n["notification_id"], NOTIFY_TC, timeout=30)
        assert lot_id in mail["Subject"] and "DO NOT THAW" in mail.get_content()
        assert patient.name not in mail.get_content() and patient.mrn not in mail.get_content()
        await arrived(relay, n["notification_id"], NOTIFY_PHYSICIAN, timeout=10)
        # and the patient's own center, which QC learnt from custody's enrolment over Kafka
        for own in (NOTIFY_CENTER_PHYSICIAN, NOTIFY_CENTER_TEAM):
            await arrived(relay, n["notification_id"], own, timeout=10)

        # Custody learns the hold over Kafka: the infusion is refused (nothing recorded) ...
        nurse = driver.person(NURSE, center)

        async def infusion_refusal() -> str:
            body = {"unit_ids": [bag], "infused_at": datetime.now(UTC).isoformat()}
            r = await driver._request("POST", f"{custody}/patients/{coi}/infusions", nurse, body)
            assert r.status_code == 409, r.text
            return str(r.json()["type"])

        assert await eventually(infusion_refusal, lambda t: t == HELD, timeout=60) == HELD
        # ... and so is the thaw: 409 unit-held naming the hold and its deviation.
        thawed = await driver._signed_request(
            f"{custody}/patients/{coi}/units/{bag}/thaw",
            nurse,
            {"thaw_started_at": datetime.now(UTC).isoformat()},
        )
        assert (thawed.status_code, thawed.json()["type"]) == (409, HELD), thawed.text
        assert thawed.json()["deviation_ids"] == [deviation_id]
        assert thawed.json()["hold_ids"] == [hold["hold_id"]]
    except BaseException:
        print("\n".join(log))
        raise
    finally:
        await driver.close()
