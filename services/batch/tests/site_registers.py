"""The site's registers set up over HTTP for an MBR's steps, as the deployed service needs
them before a batch of it can be executed: every material the steps ask for received and
released by QA, an instrument per equipment type in service, every SOP in the register and
the people trained on it and holding the steps' qualifications."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from v2v_batch.domain.mbr_content import MbrContent
from v2v_runtime.testing import ServiceHarness

from .materials import HANDLER, QA, define, now, release
from .support import SITE, VERIFIER

SUPERVISOR = VERIFIER  # keeps the equipment register, trains the specialists


@dataclass
class SiteRegisters:
    lots: dict[str, str] = field(default_factory=dict)  # material code -> released lot id
    instruments: dict[str, str] = field(default_factory=dict)  # equipment type -> id

    def used(self, content: MbrContent, step_id: str) -> dict[str, Any]:
        """The materials and instruments of ``step_id``, scanned from the registers."""
        step = content.step(step_id)
        assert step is not None
        return {
            "materials": [
                {
                    "material_code": m.material_code,
                    "lot_id": self.lots[m.material_code],
                    "quantity": m.quantity,
                    "unit": m.unit,
                }
                for m in step.materials
            ],
            "equipment": [
                {"equipment_id": self.instruments[t], "equipment_type": t}
                for t in step.equipment_types
            ],
        }


async def receive_lot(
    harness: ServiceHarness, client: httpx.AsyncClient, code: str, unit: str, quantity: float
) -> str:
    """A lot of ``code`` received into quarantine (its material defined if new)."""
    await define(
        client,
        {
            "material_code": code,
            "name": code.replace("-", " ").title(),
            "material_type": "vector" if code.startswith("LV-") else "reagent",
            "storage_condition": "refrigerated-2-8C",
            "unit": unit,
        },
    )
    r = await client.post(
        "/material-lots",
        json={
            "material_code": code,
            "site": SITE,
            "supplier": "Miltenyi Biotec",
            "supplier_lot": f"SL-{code}",
            "quantity": quantity,
            "unit": unit,
            "expires_at": (now(harness) + timedelta(days=180)).isoformat(),
            "certificate_ref": f"COA-{code}",
        },
        headers=HANDLER,
    )
    assert r.status_code == 201, r.text
    lot_id: str = r.json()["lot_id"]
    return lot_id


async def register_instrument(
    harness: ServiceHarness,
    client: httpx.AsyncClient,
    equipment_type: str,
    equipment_id: str,
    *,
    calibration_due: timedelta = timedelta(days=90),
) -> None:
    at = now(harness)
    r = await client.post(
        "/equipment",
        json={
            "equipment_id": equipment_id,
            "equipment_type": equipment_type,
            "name": equipment_type.replace("-", " ").title(),
            "site": SITE,
            "location": "grade-B suite 2",
            "calibration": {"interval_days": 180, "due_at": (at + calibration_due).isoformat()},
            "maintenance": {"interval_days": 90, "due_at": (at + timedelta(days=60)).isoformat()},
        },
        headers=SUPERVISOR,
    )
    assert r.status_code == 201, r.text


async def train(
    harness: ServiceHarness,
    client: httpx.AsyncClient,
    content: MbrContent,
    user_id: str,
    by: dict[str, str],
    *,
    skip: frozenset[str] = frozenset(),
) -> None:
    """``user_id`` trained on every step's SOP and holding every step qualification but
    ``skip``, recorded by ``by``."""
    since = (now(harness) - timedelta(days=30)).isoformat()
    for sop in {(s.sop.document_id, int(s.sop.version)) for s in content.steps}:
        r = await client.post(
            f"/people/{user_id}/qualifications",
            json={
                "kind": "sop",
                "document_id": sop[0],
                "sop_version": sop[1],
                "valid_from": since,
                "reference": f"TR-{sop[0]}",
            },
            headers=by,
        )
        assert r.status_code == 201, r.text
    codes = {s.qualification for s in content.steps if s.qualification} - skip
    for code in sorted(codes):
        await qualify(harness, client, user_id, code, by)


async def qualify(
    harness: ServiceHarness, client: httpx.AsyncClient, user_id: str, code: str, by: dict[str, str]
) -> None:
    r = await client.post(
        f"/people/{user_id}/qualifications",
        json={
            "kind": "practical",
            "code": code,
            "valid_from": (now(harness) - timedelta(days=30)).isoformat(),
            "reference": f"PQ-{code}",
        },
        headers=by,
    )
    assert r.status_code == 201, r.text


async def set_up(
    harness: ServiceHarness, client: httpx.AsyncClient, content: MbrContent
) -> SiteRegisters:
    """Released lots, instruments and the SOPs for ``content``'s steps (training is
    ``train``'s)."""
    site = SiteRegisters()
    needs: dict[str, tuple[str, float]] = {}
    for s in content.steps:
        for m in s.materials:
            unit, total = needs.get(m.material_code, (m.unit, 0.0))
            needs[m.material_code] = (unit, total + m.quantity)
    for code, (unit, total) in sorted(needs.items()):
        lot_id = await receive_lot(harness, client, code, unit, total * 2)
        r = await release(client, lot_id)
        assert r.status_code == 200, r.text
        site.lots[code] = lot_id
    for i, equipment_type in enumerate(
        sorted({t for s in content.steps for t in s.equipment_types})
    ):
        site.instruments[equipment_type] = f"EQ-{i + 1:03d}"
        await register_instrument(harness, client, equipment_type, site.instruments[equipment_type])
    registered: set[str] = set()
    for s in content.steps:
        if s.sop.document_id in registered:
            continue
        registered.add(s.sop.document_id)
        r = await client.post(
            "/sops",
            json={
                "document_id": s.sop.document_id,
                "version": int(s.sop.version),
                "title": s.name,
                "effective_at": (now(harness) - timedelta(days=60)).isoformat(),
                "training_due_at": (now(harness) - timedelta(days=70)).isoformat(),
            },
            headers=QA,
        )
        assert r.status_code == 201, r.text
    return site
