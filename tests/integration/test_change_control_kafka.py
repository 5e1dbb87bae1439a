"""Change control on the real stack, through HTTP and Kafka only: an MBR version approved by
QA (signed at the real Keycloak) is not effective; its change control, raised by the site's
supervisor and approved by QA in QC (signed), reaches batch over Kafka, which makes the
version effective and says so (QC closes the change control, over Kafka too); a batch
opened then pins that version."""

from __future__ import annotations

import secrets
import string
from typing import Any

import pytest

from v2v_batch.application.load_mbrs import SEEDS, read_seed
from v2v_cli.journeys import QA_REVIEWER, SUPERVISOR, Driver, Endpoints, Patient

from .support import approved_mbr_change, batch_of_new_patient, eventually

pytestmark = pytest.mark.integration

SITE = "manufacturing-site-1"  # the demo supervisor's, specialist's and QA's site


@pytest.mark.requirement("EU-PartIV.6.2", "EU-PartIV.9", "21CFR11.50(a)", "EU-Annex11.10")
async def test_an_mbr_version_becomes_effective_only_after_its_change_control_is_approved(
    platform: Endpoints,
) -> None:
    product = "S2X" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(4))
    seed = read_seed(next(SEEDS.glob("S2CART*.json")))
    driver = Driver(platform, log=lambda _: None, timeout=120)
    try:
        mbr = f"{platform.batch}/mbrs/{product}/{SITE}/versions/1"
        body = {
            "product_code": product,
            "site": SITE,
            "content": seed.content.model_dump(mode="json"),
        }
        await driver._call("POST", f"{platform.batch}/mbrs", SUPERVISOR, body)
        await driver._call("POST", f"{mbr}/submission", SUPERVISOR, {})
        approved = await driver._signed(f"{mbr}/approval", QA_REVIEWER, {})
        # QA's approval of the version alone does not make it effective
        assert (approved["status"], approved["change_control"]) == ("approved", None)

        # the change control, in QC: raised by the supervisor, assessed, approved by QA
        decided = await approved_mbr_change(driver, platform.qc, product, SITE, 1)
        assert (decided["state"], decided["subject"]) == ("approved", f"MBR {product} at {SITE} v1")
        assert [s["meaning"] for s in decided["signatures"]] == ["approved"]
        cc = f"{platform.qc}/change-controls/{decided['change_control_id']}"

        async def version() -> dict[str, Any]:
            found: dict[str, Any] = await driver._call("GET", mbr, QA_REVIEWER)
            return found

        effective = await eventually(version, lambda v: v["status"] == "effective", timeout=60)
        assert effective["status"] == "effective", effective
        assert effective["change_control_id"] == decided["change_control_id"]
        assert (
            effective["change_control"]["approved_by"]["user_id"]
            == decided["approved_by"]["user_id"]
        )

        async def change_control() -> dict[str, Any]:
            found: dict[str, Any] = await driver._call("GET", cc, QA_REVIEWER)
            return found

        closed = await eventually(change_control, lambda c: c["state"] == "implemented", 60)
        assert (closed["state"], closed["implemented_by"]) == ("implemented", "batch")

        # a patient's batch of the product, opened now, pins the version made effective
        patient = Patient(
            name="Lena Beispiel", birth_date="1968-09-12", mrn="MRN-CC-1", product_code=product
        )
        batch = await batch_of_new_patient(driver, platform.batch, patient, SITE)
        pinned = batch["execution"]["mbr"]
        assert (pinned["product_code"], pinned["version"]) == (product, 1)
    finally:
        await driver.close()
