"""Batch's POST operations, each brought to where it succeeds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from v2v_batch.application.step_gates import MbrOnly
from v2v_batch.bootstrap import build
from v2v_batch.domain import STEP_ORDER, Step
from v2v_batch.settings import BatchSettings
from v2v_events.contracts.batch import BatchOpened, OpenBatch
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import CollectionRecorded
from v2v_runtime.testing import ServiceHarness

from .support import (
    COI,
    MATERIALS_HANDLER,
    NOW,
    QA,
    SPECIALIST,
    SUPERVISOR,
    SYSTEM,
    Call,
    Scenario,
    clock_and_ids,
    deliver,
    ok,
    signed_call,
    signed_ok,
)

SITE = "manufacturing-site-1"


def harness(tmp_path: Path) -> ServiceHarness:
    """Batch with its MBR steps checked by the MBR alone: the walk is about idempotency, the
    registers' gates are tested in services/batch and tests/integration."""
    settings = BatchSettings(database_url=ServiceHarness.sqlite_url(tmp_path, "batch"))
    clock, ids = clock_and_ids("batch")
    return ServiceHarness(build(settings, clock=clock, ids=ids, gates=MbrOnly()))


T0 = NOW - timedelta(days=14)


def step(s: Step) -> dict[str, Any]:
    i = STEP_ORDER.index(s)
    body: dict[str, Any] = {
        "step": s.value,
        "equipment_id": f"EQ-{s.value}",
        "started_at": (T0 + timedelta(days=i)).isoformat(),
        "ended_at": (T0 + timedelta(days=i, hours=6)).isoformat(),
    }
    if s is Step.HARVEST:
        body |= {"viable_cell_count": 2.5e9, "viability_pct": 91.0}
    return body


async def collected(h: ServiceHarness) -> None:
    """Batch opens a batch only for a unit custody collected for that CoI and DIN."""
    recorded = CollectionRecorded(
        coi=COI,
        din="G123498654321",
        din_check="H",
        unit_id="APH-1",
        apheresis_center="apheresis-center-1",
        volume_ml=240.0,
        total_nucleated_cells=1.2e10,
        collection_started_at=T0 - timedelta(hours=5),
        collection_ended_at=T0 - timedelta(hours=1),
        actor=Actor(user_id="u-aph-3", role="apheresis-nurse"),
    )
    await deliver(h, recorded)


async def opened(h: ServiceHarness, product_code: str | None = None) -> str:
    """A batch opened by the journey (of ``product_code``) from the unit custody collected."""
    await collected(h)
    cmd = OpenBatch(
        coi=COI,
        apheresis_unit_id="APH-1",
        din="G123498654321",
        manufacturing_site=SITE,
        attempt=1,
        actor=SYSTEM,
        product_code=product_code,
    )
    await deliver(h, cmd)
    return (await h.published(BatchOpened))[-1].batch_id


# The second person who verifies a specialist's steps, on the specialist's tablet: the
# login of SUPERVISOR (tests/api/support.py).
VERIFIER = "u-sup"


async def cryopreserved(h: ServiceHarness, c: httpx.AsyncClient) -> str:
    """Every step recorded (signed by the specialist) and verified where needed."""
    batch_id = await opened(h)
    for s in STEP_ORDER:
        done = await signed_ok(c, f"/batches/{batch_id}/steps", step(s), SPECIALIST)
        if done["verification_required"]:
            await signed_ok(c, verification(batch_id, s), {}, SPECIALIST, signer=VERIFIER)
    return batch_id


def verification(batch_id: str, s: Step) -> str:
    return f"/batches/{batch_id}/steps/{s.value}/verification"


LOT = {"bag_count": 2, "total_viable_cells": 4.0e8, "viability_pct": 88.5}


async def open_batch(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await collected(h)
    unit = {"apheresis_unit_id": "APH-1", "din": "G123498654321"}
    body = {"coi": COI, **unit, "manufacturing_site": SITE, "attempt": 1}
    return Call("/batches", body, SPECIALIST)


async def record_step(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return await signed_call(
        c, f"/batches/{await opened(h)}/steps", step(Step.SELECTION), SPECIALIST
    )


async def verify_step(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    batch_id = await opened(h)
    await signed_ok(c, f"/batches/{batch_id}/steps", step(Step.SELECTION), SPECIALIST)
    return await signed_call(
        c, verification(batch_id, Step.SELECTION), {}, SPECIALIST, signer=VERIFIER
    )


async def produce_lot(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call(f"/batches/{await cryopreserved(h, c)}/lot", LOT, SPECIALIST)


async def manufacturing_failure(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    lot = await ok(c, f"/batches/{await cryopreserved(h, c)}/lot", LOT, SPECIALIST)
    body = {"reason": "bag integrity failure at final inspection"}
    return Call(f"/lots/{lot['lot_id']}/manufacturing-failure", body, SUPERVISOR)


# Supplied materials: a vector in the material master, a lot of it received at the site.
VECTOR = {
    "material_code": "LV-CD19-01",
    "name": "Lentiviral vector anti-CD19 CAR",
    "material_type": "vector",
    "storage_condition": "frozen-minus-80C",
    "unit": "mL",
}
RECEIPT = {
    "material_code": "LV-CD19-01",
    "site": SITE,
    "supplier": "Vectorworks GmbH",
    "supplier_lot": "LV26-0114",
    "quantity": 10,
    "unit": "mL",
    "expires_at": (NOW + timedelta(days=180)).isoformat(),
    "certificate_ref": "COA-LV-2026-0114",
}


async def define_material(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call("/material-master", VECTOR, MATERIALS_HANDLER)


async def received(c: httpx.AsyncClient) -> str:
    await ok(c, "/material-master", VECTOR, MATERIALS_HANDLER)
    lot: dict[str, Any] = await ok(c, "/material-lots", RECEIPT, MATERIALS_HANDLER)
    return str(lot["lot_id"])


async def receive_material_lot(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await ok(c, "/material-master", VECTOR, MATERIALS_HANDLER)
    return Call("/material-lots", RECEIPT, MATERIALS_HANDLER)


async def release_material_lot(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return await signed_call(c, f"/material-lots/{await received(c)}/release", {}, QA)


async def reject_material_lot(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    url = f"/material-lots/{await received(c)}/rejection"
    return await signed_call(c, url, {"reason": "certificate does not match the lot"}, QA)


async def consume_material(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    lot_id = await received(c)
    await signed_ok(c, f"/material-lots/{lot_id}/release", {}, QA)
    scan = {"material_code": "LV-CD19-01", "lot_id": lot_id, "quantity": 2.5, "unit": "mL"}
    return Call(f"/batches/{await opened(h)}/steps/selection/materials", scan, SPECIALIST)


SCENARIOS: dict[str, Scenario] = {
    "POST /batches": open_batch,
    "POST /batches/{batch_id}/steps": record_step,
    "POST /batches/{batch_id}/steps/{step}/verification": verify_step,
    "POST /batches/{batch_id}/lot": produce_lot,
    "POST /lots/{lot_id}/manufacturing-failure": manufacturing_failure,
    "POST /material-master": define_material,
    "POST /material-lots": receive_material_lot,
    "POST /material-lots/{lot_id}/release": release_material_lot,
    "POST /material-lots/{lot_id}/rejection": reject_material_lot,
    "POST /batches/{batch_id}/steps/{step}/materials": consume_material,
}
