"""Release waits for the batch record review (issue 16 §1) on the real stack, through HTTP
and Kafka only: a patient's journey opens the batch of a product whose CAR-T MBR QA made
effective; the specialist executes every step within its limits and produces the lot; the
journey orders its QC panel and every result is in specification. QC learnt over Kafka
that the batch follows its MBR, so the release package names the missing review as a
blocker and QA's release is refused (409 ``batch-record-review-missing``, nothing
released). QA reviews the record by exception in batch (signed at Keycloak); QC hears of
it, shows who reviewed it and what the review counted, and the lot is released."""

from __future__ import annotations

import secrets
import string
from typing import Any

import pytest

from v2v_batch.application.load_mbrs import SEEDS, read_seed
from v2v_cli.journeys import QA_REVIEWER, SPECIALIST, Driver, Endpoints, Patient, Plan

from .ebr_site import SITE, Execution, set_up_site
from .mbr_batches import effective_mbr
from .support import eventually

pytestmark = pytest.mark.integration


async def package(driver: Driver, qc: str, lot_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await driver._call(
        "GET", f"{qc}/lots/{lot_id}/release-package", QA_REVIEWER
    )
    return found


@pytest.mark.requirement("EU-PartIV.11.3.1", "21CFR11.50(a)")
async def test_a_lot_of_an_mbr_batch_is_released_only_after_its_record_is_reviewed(
    platform: Endpoints,
) -> None:
    product = "S2R" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(4))
    content = read_seed(next(SEEDS.glob("S2CART*.json"))).content
    tag = product[3:]
    patient = Patient(f"Rhea Recordreview{tag}", "1975-06-21", f"MRN-R{tag}", product_code=product)
    assert patient.manufacturing_site == SITE
    driver = Driver(platform, log=lambda _: None, timeout=150)
    batch_url, qc = platform.batch, platform.qc
    try:
        site, _ = await set_up_site(
            driver, batch_url, content, withheld="(none)", specialist=SPECIALIST
        )
        await effective_mbr(driver, platform, product, content.model_dump(mode="json"))
        coi = await driver.enroll(patient)  # the journey starts
        await driver.collected_and_received(coi, patient, Plan())

        async def opened() -> list[Any]:
            rows: list[Any] = await driver._call(
                "GET", f"{batch_url}/batches?coi={coi}", SPECIALIST
            )
            return rows

        [listed] = await eventually(opened, bool, timeout=90)  # opened by the journey
        batch_id = listed["batch_id"]
        batch = await driver._call("GET", f"{batch_url}/batches/{batch_id}", SPECIALIST)
        assert batch["execution"]["mbr"]["product_code"] == product  # pinned at opening
        run = Execution(driver, batch_url, batch_id, site, batch["opened_at"])
        for step in content.steps:
            await run.perform(step)
        lot = await driver._call(
            "POST",
            f"{batch_url}/batches/{batch_id}/lot",
            SPECIALIST,
            {"bag_count": 2, "total_viable_cells": 3.0e8, "viability_pct": 88.0},
        )
        lot_id = lot["lot_id"]
        panel = await driver.test_lot(coi, SITE, lot_id, product, oos=False)
        assert panel["status"] == "in-specification"

        # QC knows the batch follows its MBR: the missing review blocks the release.
        before = await package(driver, qc, lot_id)
        record = before["batch_record"]
        assert (record["batch_id"], record["executed_from_mbr"], record["reviewed"]) == (
            batch_id,
            True,
            False,
        )
        assert record["mbr"] == f"{product} v1 at {SITE}"
        assert "batch-record-review-missing" in [b["code"] for b in before["blockers"]]
        await driver.review_trail(coi, QA_REVIEWER, lot_id)
        refused = await driver._signed_request(
            f"{qc}/lots/{lot_id}/decision",
            QA_REVIEWER,
            {"decision": "release", "reason": "results and trail reviewed"},
        )
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["type"].endswith(":batch-record-review-missing")
        assert (body["lot_id"], body["batch_id"]) == (lot_id, batch_id)
        assert (await package(driver, qc, lot_id))["decision"] is None  # nothing released

        # QA reviews the executed record by exception in batch, signed at Keycloak.
        review = await driver._signed(f"{batch_url}/batches/{batch_id}/review", QA_REVIEWER, {})
        assert review["review"] is not None and review["blocking"] == [], review

        async def seen() -> dict[str, Any]:
            return await package(driver, qc, lot_id)

        after = await eventually(seen, lambda p: p["batch_record"]["reviewed"], timeout=60)
        record = after["batch_record"]
        assert record["reviewed_by"]["role"] == "qa-reviewer"
        assert (record["exceptions"], record["corrections"], record["late_entries"]) == (0, 0, 0)
        assert "batch-record-review-missing" not in [b["code"] for b in after["blockers"]]

        # The review moved batch's audit trail: QA reviews the trail again and releases.
        certificate = await driver.release(coi, SITE, lot_id)
        released = await package(driver, qc, lot_id)
        assert (released["decision"], released["certificate_id"]) == ("release", certificate)
    finally:
        await driver.close()
