"""Change controls for the tests: raise one, assess it and have QA approve it (signed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from v2v_runtime.testing import as_user, signed

from .support import QA

SUPERVISOR = as_user("u-supervisor", "manufacturing-supervisor", sites=["MS-1"])

ASSESSMENT: dict[str, Any] = {
    "affected_products": "S1234 (autologous anti-CD19 CAR-T)",
    "affected_batches": "none in process; batches opened after the change",
    "affected_documents": "SPEC-S1234, SOP-QC-017",
    "risk_level": "medium",
    "risk": "a tighter viability limit may reject lots released before",
    "training_needed": "QC analysts on SOP-QC-017 v4",
    "validation_needed": "none: same method, same range",
}


def request(
    kind: str = "specification",
    subject_id: str = "SPEC-S1234",
    version: int = 2,
    site: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject_kind": kind,
        "subject_id": subject_id,
        "version": version,
        "description": f"{subject_id} v{version}: viability limit raised to 80 %",
        "reason": "process capability review 2026",
    }
    return body if site is None else {**body, "site": site}


async def raised(
    c: httpx.AsyncClient, headers: Mapping[str, str] = SUPERVISOR, **subject: Any
) -> str:
    r = await c.post("/change-controls", json=request(**subject), headers=dict(headers))
    assert r.status_code == 201, r.text
    return str(r.json()["change_control_id"])


async def assessed(
    c: httpx.AsyncClient, headers: Mapping[str, str] = SUPERVISOR, **subject: Any
) -> str:
    cc_id = await raised(c, headers, **subject)
    url = f"/change-controls/{cc_id}/impact-assessment"
    r = await c.post(url, json=ASSESSMENT, headers=dict(headers))
    assert r.status_code == 200, r.text
    return cc_id


async def approved(c: httpx.AsyncClient, **subject: Any) -> dict[str, Any]:
    """Raised and assessed by the supervisor, approved by QA (signed): the view."""
    cc_id = await assessed(c, **subject)
    r = await signed(c, f"/change-controls/{cc_id}/approval", {"comment": "go"}, dict(QA))
    assert r.status_code == 200, r.text
    view: dict[str, Any] = r.json()
    return view
