"""Custody's POST operations, each brought to where it succeeds."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from v2v_custody.bootstrap import build
from v2v_custody.settings import CustodySettings
from v2v_runtime.authz import Roles as R
from v2v_runtime.testing import ServiceHarness, as_user

from .support import (
    APHERESIS_NURSE,
    COORDINATOR,
    COURIER,
    INFUSION_NURSE,
    MATERIALS_HANDLER,
    NOW,
    Call,
    Scenario,
    clock_and_ids,
    deliver,
    lot_produced,
    lot_released,
    ok,
    signed_call,
    signed_ok,
)

CENTER, APHERESIS, SITE = "treatment-center-1", "apheresis-center-1", "manufacturing-site-1"
# Who receives the product at the center and signs for it: a login of these scenarios alone
# (signers are known by login process-wide: as_user refuses a second person of one id).
CENTER_RECEIVER = as_user("u-tc-receiver", R.TREATMENT_CENTER_COORDINATOR, sites=[CENTER])


def harness(tmp_path: Path) -> ServiceHarness:
    settings = CustodySettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "custody"), facility_id="A1B2C"
    )
    clock, ids = clock_and_ids("custody")
    return ServiceHarness(build(settings, clock=clock, ids=ids))


def enrollment() -> dict[str, Any]:
    return {
        "name": "Test Person",
        "birth_date": "1970-01-30",
        "medical_record_number": "MRN-IDEM-1",
        "therapy": "CAR-T",
        "product_code": "S1234",
        "autologous": True,
        "treatment_center": CENTER,
        "apheresis_center": APHERESIS,
        "manufacturing_site": SITE,
        "patient_weight_kg": 70.0,
        "earliest_collection": "2026-11-30",
    }


def collection() -> dict[str, Any]:
    return {
        "apheresis_center": APHERESIS,
        "volume_ml": 210.0,
        "total_nucleated_cells": 9.1e9,
        "collection_started_at": (NOW - timedelta(hours=5)).isoformat(),
        "collection_ended_at": (NOW - timedelta(hours=1)).isoformat(),
    }


async def collected(client: httpx.AsyncClient) -> dict[str, Any]:
    coi = (await ok(client, "/patients", enrollment(), COORDINATOR))["coi"]
    unit: dict[str, Any] = await ok(
        client, f"/patients/{coi}/collections", collection(), APHERESIS_NURSE
    )
    return unit


async def enroll(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call("/patients", enrollment(), COORDINATOR)


async def collect(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    coi = (await ok(c, "/patients", enrollment(), COORDINATOR))["coi"]
    return Call(f"/patients/{coi}/collections", collection(), APHERESIS_NURSE)


async def receive(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    unit = await collected(c)
    scan = {"unit_id": unit["unit_id"], "scanned_coi": unit["coi"], "scanned_din": unit["din"]}
    body = {**scan, "location": SITE, "location_kind": "manufacturing-site"}
    return await signed_call(c, "/receipts", body, MATERIALS_HANDLER)


async def transfer(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    """In person: the apheresis nurse hands the unit over, the courier signs taking it."""
    unit = await collected(c)
    hand_off = {"from_party": APHERESIS, "to_party": "courier-1", "location": APHERESIS}
    body = {"unit_id": unit["unit_id"], **hand_off, "temperature_c": 5.0}
    return await signed_call(
        c, "/transfers", body, APHERESIS_NURSE, also={"counter_signature": COURIER}
    )


async def at_treatment_center(h: ServiceHarness, c: httpx.AsyncClient) -> tuple[str, str]:
    """A patient's bag, released by QA (QC's lot.released), handed to the courier and
    received at the patient's treatment center: the CoI and when it was received."""
    coi = (await ok(c, "/patients", enrollment(), COORDINATOR))["coi"]
    await deliver(h, lot_produced("LOT-1", ["BAG-1"], SITE))
    await deliver(h, lot_released("LOT-1"))
    hand_off = {"from_party": SITE, "to_party": "courier-1", "location": SITE}
    await signed_ok(
        c,
        "/transfers",
        {"unit_id": "BAG-1", **hand_off, "temperature_c": -170.0},
        MATERIALS_HANDLER,
        also={"counter_signature": COURIER},
    )
    scan = {"unit_id": "BAG-1", "scanned_coi": coi, "location": CENTER}
    arrival = {**scan, "location_kind": "treatment-center"}
    received = await signed_ok(c, "/receipts", arrival, CENTER_RECEIVER)
    return coi, str(received["received_at"])


async def thaw(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    coi, received_at = await at_treatment_center(h, c)
    body = {"thaw_started_at": received_at}
    return await signed_call(c, f"/patients/{coi}/units/BAG-1/thaw", body, INFUSION_NURSE)


async def infuse(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    coi, received_at = await at_treatment_center(h, c)
    thawed = {"thaw_started_at": received_at}
    await signed_ok(c, f"/patients/{coi}/units/BAG-1/thaw", thawed, INFUSION_NURSE)
    infused_at = datetime.fromisoformat(received_at) + timedelta(minutes=1)
    body = {"unit_ids": ["BAG-1"], "infused_at": infused_at.isoformat()}
    return await signed_call(c, f"/patients/{coi}/infusions", body, INFUSION_NURSE)


async def correct_identity(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    coi = (await ok(c, "/patients", enrollment(), COORDINATOR))["coi"]
    body = {
        "birth_date": "1961-04-03",
        "reason_code": "transcription-error",
        "reason": "birth date transposed at enrolment",
    }
    return Call(f"/patients/{coi}/identity-corrections", body, COORDINATOR)


SCENARIOS: dict[str, Scenario] = {
    "POST /patients": enroll,
    "POST /patients/{coi}/collections": collect,
    "POST /patients/{coi}/infusions": infuse,
    "POST /patients/{coi}/units/{unit_id}/thaw": thaw,
    "POST /receipts": receive,
    "POST /transfers": transfer,
    "POST /patients/{coi}/identity-corrections": correct_identity,
}
