"""A batch executed from a master batch record on the real stack, through HTTP only: the
MBR authored by the site's supervisor, approved by QA with a signature at the real Keycloak
and made effective by its change control approved in QC; a patient enrolled and collected
(custody, the journey, logistics); the batch of the product opened once batch knows the
collected unit."""

from __future__ import annotations

from typing import Any

from v2v_cli.journeys import QA_REVIEWER, SPECIALIST, SUPERVISOR, Driver, Endpoints, Patient

from .support import eventually, made_effective

SITE = "manufacturing-site-1"  # the demo supervisor's, specialist's and QA's site


async def effective_mbr(
    driver: Driver, platform: Endpoints, product: str, content: dict[str, Any]
) -> dict[str, Any]:
    """Version 1 of ``product``'s MBR at SITE, effective; QA's approval as answered."""
    mbr = f"{platform.batch}/mbrs/{product}/{SITE}/versions/1"
    body = {"product_code": product, "site": SITE, "content": content}
    await driver._call("POST", f"{platform.batch}/mbrs", SUPERVISOR, body)
    await driver._call("POST", f"{mbr}/submission", SUPERVISOR, {})
    approved: dict[str, Any] = await driver._signed(f"{mbr}/approval", QA_REVIEWER, {})
    await made_effective(driver, platform.batch, platform.qc, product, SITE)
    return approved


async def open_batch(driver: Driver, platform: Endpoints, patient: Patient) -> dict[str, Any]:
    """``patient`` enrolled and collected, and the batch of their product opened at SITE."""
    coi = await driver.enroll(patient)
    collected = await driver.collect(coi, patient, 1)
    opening = {
        "coi": coi,
        "apheresis_unit_id": collected["unit_id"],
        "din": collected["din"],
        "manufacturing_site": SITE,
        "product_code": patient.product_code,
    }

    async def opened() -> dict[str, Any] | None:
        r = await driver.http.post(
            f"{platform.batch}/batches", json=opening, headers=await driver.headers(SPECIALIST)
        )
        return r.json() if r.status_code in (200, 201) else None  # until batch knows the unit

    batch = await eventually(opened, lambda b: b is not None, timeout=60)
    assert batch is not None
    return batch
