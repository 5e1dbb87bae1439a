"""A master batch record on the real stack, through HTTP only: authored by the site's
supervisor, approved by QA with a signature at the real Keycloak and made effective by its
change control approved in QC (a patient's batch of it: support.batch_of_new_patient)."""

from __future__ import annotations

from typing import Any

from v2v_cli.journeys import QA_REVIEWER, SUPERVISOR, Driver, Endpoints

from .support import made_effective

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
