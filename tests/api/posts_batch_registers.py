"""Batch's POST operations of the equipment register, the SOP register and training
records, each brought to where it succeeds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from v2v_runtime.testing import ServiceHarness

from .posts_batch import SITE, opened
from .support import NOW, QA, SPECIALIST, SUPERVISOR, Call, Scenario, ok

EQUIPMENT = "CEN-0042"
SOP = "SOP-MFG-012"
TRAINEE = "u-trainee"  # whose qualifications are recorded (not the recorder)


def instrument() -> dict[str, Any]:
    return {
        "equipment_id": EQUIPMENT,
        "equipment_type": "centrifuge",
        "name": "Sorvall ST 40R",
        "site": SITE,
        "location": "grade-C room 2.14",
        "calibration": {"interval_days": 180, "due_at": (NOW + timedelta(days=30)).isoformat()},
        "maintenance": {"interval_days": 90, "due_at": (NOW + timedelta(days=60)).isoformat()},
        "in_service_from": (NOW - timedelta(days=10)).isoformat(),
    }


async def registered(c: httpx.AsyncClient) -> str:
    await ok(c, "/equipment", instrument(), SUPERVISOR)
    return f"/equipment/{EQUIPMENT}"


async def register(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call("/equipment", instrument(), SUPERVISOR)


async def calibrate(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    body = {
        "performed_at": (NOW - timedelta(days=1)).isoformat(),
        "as_found": "in-tolerance",
        "as_left": "in-tolerance",
        "certificate_ref": "CAL-2026-0815",
    }
    return Call(f"{await registered(c)}/calibrations", body, SUPERVISOR)


async def maintain(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    body = {"performed_at": (NOW - timedelta(days=1)).isoformat(), "description": "PM kit 1"}
    return Call(f"{await registered(c)}/maintenance", body, SUPERVISOR)


async def take_out(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call(f"{await registered(c)}/out-of-service", {"reason": "rotor noise"}, SPECIALIST)


async def put_back(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    url = await registered(c)
    await ok(c, f"{url}/out-of-service", {"reason": "rotor noise"}, SPECIALIST)
    return Call(f"{url}/return-to-service", {"reason": "rotor replaced"}, SUPERVISOR)


async def move(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call(f"{await registered(c)}/location", {"location": "room 2.16"}, SUPERVISOR)


async def use(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await registered(c)
    batch_id = await opened(h)
    body = {"equipment_id": EQUIPMENT, "equipment_type": "centrifuge"}
    return Call(f"/batches/{batch_id}/steps/selection/equipment", body, SPECIALIST)


def sop_version() -> dict[str, Any]:
    return {
        "document_id": SOP,
        "version": 1,
        "title": "CAR-T transduction",
        "effective_at": (NOW - timedelta(days=30)).isoformat(),
        "training_due_at": (NOW - timedelta(days=40)).isoformat(),
    }


async def register_sop(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call("/sops", sop_version(), QA)


def gowning() -> dict[str, Any]:
    return {
        "kind": "gowning",
        "valid_from": (NOW - timedelta(days=1)).isoformat(),
        "reference": "G-2026-07",
    }


async def grant(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call(f"/people/{TRAINEE}/qualifications", gowning(), SUPERVISOR)


async def revoke(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    granted = await ok(c, f"/people/{TRAINEE}/qualifications", gowning(), SUPERVISOR)
    url = f"/people/{TRAINEE}/qualifications/{granted['qualification_id']}/revocation"
    return Call(url, {"reason": "failed gowning re-assessment"}, QA)


SCENARIOS: dict[str, Scenario] = {
    "POST /equipment": register,
    "POST /equipment/{equipment_id}/calibrations": calibrate,
    "POST /equipment/{equipment_id}/maintenance": maintain,
    "POST /equipment/{equipment_id}/out-of-service": take_out,
    "POST /equipment/{equipment_id}/return-to-service": put_back,
    "POST /equipment/{equipment_id}/location": move,
    "POST /batches/{batch_id}/steps/{step}/equipment": use,
    "POST /sops": register_sop,
    "POST /people/{user_id}/qualifications": grant,
    "POST /people/{user_id}/qualifications/{qualification_id}/revocation": revoke,
}
