"""Test data and helpers of the supplied-materials tests: the people, a material master,
lots received, released, rejected."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from v2v_runtime.testing import ServiceHarness, StepClock, as_user, signed

from .support import SITE

HANDLER_ID, QA_ID, QA2_ID = "u-mat-handler", "u-mat-qa", "u-mat-qa2"
HANDLER = as_user(HANDLER_ID, "materials-handler", name="Hana Handler")
QA = as_user(QA_ID, "qa-reviewer", name="Quentin QA")
QA2 = as_user(QA2_ID, "qa-reviewer", name="Ria Reviewer")
# Someone who both receives and releases (two hats): separation of duties still applies.
BOTH_ID = "u-mat-both"
BOTH = as_user(BOTH_ID, "materials-handler", "qa-reviewer", name="Bo Both")

VECTOR = {
    "material_code": "LV-CD19-01",
    "name": "Lentiviral vector anti-CD19 CAR",
    "material_type": "vector",
    "storage_condition": "frozen-minus-80C",
    "unit": "mL",
}
BEADS = {
    "material_code": "RGT-CD3CD28",
    "name": "CD3/CD28 activation beads",
    "material_type": "reagent",
    "storage_condition": "refrigerated-2-8C",
    "unit": "mL",
}
BAGS = {
    "material_code": "CON-BAG-250",
    "name": "Cryobag 250 mL",
    "material_type": "consumable",
    "storage_condition": "ambient-15-25C",
    "unit": "each",
}


def clock_of(harness: ServiceHarness) -> StepClock:
    clock = harness.kit.clock
    assert isinstance(clock, StepClock)
    return clock


def now(harness: ServiceHarness) -> datetime:
    return clock_of(harness).current


async def define(client: httpx.AsyncClient, material: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/material-master", json=material, headers=HANDLER)
    assert r.status_code in (200, 201), r.text
    body: dict[str, Any] = r.json()
    return body


def receipt(harness: ServiceHarness, material: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "material_code": material["material_code"],
        "site": SITE,
        "supplier": "Vectorworks GmbH",
        "supplier_lot": "LV26-0114",
        "quantity": 10,
        "unit": material["unit"],
        "expires_at": (now(harness) + timedelta(days=180)).isoformat(),
        "certificate_ref": "COA-LV-2026-0114",
    }
    return body | overrides


async def receive(
    harness: ServiceHarness, client: httpx.AsyncClient, material: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    await define(client, material)
    r = await client.post(
        "/material-lots", json=receipt(harness, material, **overrides), headers=HANDLER
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def release(
    client: httpx.AsyncClient, lot_id: str, headers: dict[str, str] = QA, **sign: Any
) -> httpx.Response:
    return await signed(client, f"/material-lots/{lot_id}/release", {}, headers, **sign)


async def reject(
    client: httpx.AsyncClient, lot_id: str, reason: str = "certificate does not match"
) -> httpx.Response:
    return await signed(client, f"/material-lots/{lot_id}/rejection", {"reason": reason}, QA)


async def released_lot(
    harness: ServiceHarness, client: httpx.AsyncClient, material: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    lot = await receive(harness, client, material, **overrides)
    r = await release(client, lot["lot_id"])
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
