"""Master batch records for the tests, and helpers to author one, make it effective (QC's
approval of its change control delivered through the inbox) and execute a batch from it
through the HTTP API."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from v2v_batch.application.load_mbrs import SEEDS, SeedFile, load_seed, read_seed
from v2v_batch.domain.mbr_content import MbrContent, MbrStep, Parameter, ParameterType
from v2v_events.contracts.change_control import (
    ChangeControlApproved,
    ChangeSubject,
    change_subject_key,
)
from v2v_events.contracts.common import Actor
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, StepClock, as_user, signed

from .support import COI, DIN, SITE, VERIFIER, VERIFIER_ID, collect

PRODUCT = "S7TEST"
QA_ID = "u-mbr-qa"
QA = as_user(QA_ID, "qa-reviewer", name="Quentin QA")
AUTHOR = VERIFIER  # the manufacturing supervisor writes the recipe
AUTHOR_ID = VERIFIER_ID
CC_APPROVER_ID = "u-qc-qa"  # the QA reviewer who approved the change control in QC


def param(name: str, type_: str = "number", **more: Any) -> dict[str, Any]:
    return {"name": name, "label": name.replace("_", " ").capitalize(), "type": type_, **more}


def step(step_id: str, *params: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "step_id": step_id,
        "name": step_id.replace("-", " ").capitalize(),
        "instructions": f"Do {step_id} as trained.",
        "sop": {"document_id": f"SOP-{step_id.upper()}", "version": "1"},
        "parameters": list(params),
        **more,
    }


# Four steps: a plain one, one with materials, equipment and a non-critical limit, a
# critical verified one (viability >= 70 %), and the last with a one-hour hold.
CONTENT: dict[str, Any] = {
    "title": "Test CAR-T",
    "therapy": "autologous CAR-T",
    "operations": [
        {
            "operation_id": "prep",
            "name": "Preparation",
            "steps": [
                step(
                    "receipt", param("bag_intact", "boolean"), param("note", "text", required=False)
                ),
                step(
                    "selection",
                    param("selected_cells", unit="cells", lower_limit=1e8),
                    param("retained_aliquots", "integer", lower_limit=0, upper_limit=4),
                    materials=[{"material_code": "CD4-BEADS", "quantity": 1, "unit": "vial"}],
                    equipment_types=["cell-selection-system"],
                ),
            ],
        },
        {
            "operation_id": "finish",
            "name": "Harvest and freezing",
            "steps": [
                step(
                    "harvest",
                    param("viability_pct", unit="%", target=90, lower_limit=70, critical=True),
                    param("method", "choice", choices=["manual", "automated"]),
                    signatures="performed-and-verified",
                ),
                step(
                    "freezing",
                    param("end_temperature_c", unit="°C", upper_limit=-80),
                    max_hold_minutes=60,
                ),
            ],
        },
    ],
}

GOOD: dict[str, dict[str, Any]] = {
    "receipt": {"bag_intact": {"value": True}},
    "selection": {
        "selected_cells": {"value": 4.0e8, "unit": "cells"},
        "retained_aliquots": {"value": 2},
    },
    "harvest": {"viability_pct": {"value": 91.0, "unit": "%"}, "method": {"value": "manual"}},
    "freezing": {"end_temperature_c": {"value": -90.0, "unit": "°C"}},
}
USED: dict[str, dict[str, Any]] = {
    "selection": {
        "materials": [
            {"material_code": "CD4-BEADS", "lot_id": "LOT-CD4-7", "quantity": 1, "unit": "vial"}
        ],
        "equipment": [{"equipment_id": "SEL-01", "equipment_type": "cell-selection-system"}],
    }
}


def content(**changes: Any) -> dict[str, Any]:
    return copy.deepcopy(CONTENT) | changes


def seed(name: str) -> SeedFile:
    return next(read_seed(p) for p in SEEDS.glob(f"{name}*.json"))


def seeded(name: str) -> MbrContent:
    return seed(name).content


def version_url(version: int, product: str = PRODUCT, site: str = SITE) -> str:
    return f"/mbrs/{product}/{site}/versions/{version}"


def change_approved(
    version: int,
    product: str = PRODUCT,
    site: str = SITE,
    change_control_id: str | None = None,
    kind: ChangeSubject = ChangeSubject.MBR,
) -> ChangeControlApproved:
    """QC's approval of a change control naming the version (as QA there signed it)."""
    return ChangeControlApproved(
        change_control_id=change_control_id or f"CC-{product}-{version}",
        subject_kind=kind,
        subject_id=product,
        site=site if kind is ChangeSubject.MBR else None,
        version=version,
        description=f"{product} v{version}",
        approved_at=datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
        actor=Actor(user_id=CC_APPROVER_ID, role="qa-reviewer"),
    )


async def approve_change(
    harness: ServiceHarness, version: int, product: str = PRODUCT, site: str = SITE
) -> ChangeControlApproved:
    """Deliver QC's approval of the version's change control through batch's inbox."""
    approved = change_approved(version, product, site)
    key = change_subject_key(ChangeSubject.MBR, product, site)
    outcome = await harness.deliver(approved, subject=key, id=f"cc-{product}-{site}-{version}")
    assert outcome is Outcome.PROCESSED
    return approved


async def effective_mbr(
    harness: ServiceHarness,
    client: httpx.AsyncClient,
    body: dict[str, Any] | None = None,
    product: str = PRODUCT,
) -> int:
    """Author (the supervisor), submit and approve (QA, signed) a version; its change
    control approved in QC makes it effective."""
    r = await client.post(
        "/mbrs",
        json={"product_code": product, "site": SITE, "content": body or CONTENT},
        headers=AUTHOR,
    )
    assert r.status_code == 201, r.text
    version: int = r.json()["version"]
    url = version_url(version, product)
    r = await client.post(f"{url}/submission", json={}, headers=AUTHOR)
    assert r.status_code == 200, r.text
    r = await signed(client, f"{url}/approval", {}, QA)
    assert r.status_code == 200, r.text
    await approve_change(harness, version, product)
    assert (await client.get(url)).json()["status"] == "effective"
    return version


async def effective_seed(client: httpx.AsyncClient, harness: ServiceHarness, name: str) -> SeedFile:
    """The seeded MBR ``name`` loaded as a draft at the site, submitted, approved by QA
    (signed) and made effective by its change control."""
    found = seed(name)
    async with harness.kit.uow() as uow:
        await load_seed(uow, found, SITE)
    url = version_url(1, found.product_code)
    assert (await client.post(f"{url}/submission", json={}, headers=AUTHOR)).status_code == 200
    assert (await signed(client, f"{url}/approval", {}, QA)).status_code == 200
    await approve_change(harness, 1, found.product_code)
    assert (await client.get(url)).json()["status"] == "effective"
    return found


async def open_mbr_batch(
    client: httpx.AsyncClient,
    harness: ServiceHarness,
    product: str = PRODUCT,
    unit: str = "APH-MBR-1",
) -> str:
    """A batch of ``product`` opened over HTTP from a collected unit."""
    await collect(harness, unit=unit)
    r = await client.post(
        "/batches",
        json={
            "coi": COI,
            "apheresis_unit_id": unit,
            "din": DIN,
            "manufacturing_site": SITE,
            "product_code": product,
        },
    )
    assert r.status_code == 201, r.text
    batch_id: str = r.json()["batch_id"]
    return batch_id


def clock(harness: ServiceHarness) -> StepClock:
    c = harness.kit.clock
    assert isinstance(c, StepClock)
    return c


def step_times(
    harness: ServiceHarness, *, gap: timedelta = timedelta(minutes=10)
) -> tuple[datetime, datetime]:
    """A step starting ``gap`` after now and lasting an hour; the clock moves to five
    minutes after its end (the performer records it then: not late)."""
    c = clock(harness)
    start = c.current + gap
    end = start + timedelta(hours=1)
    c.current = end + timedelta(minutes=5)
    return start, end


def perform_body(
    harness: ServiceHarness, step_id: str, values: dict[str, Any] | None = None, **more: Any
) -> dict[str, Any]:
    start, end = step_times(harness, gap=more.pop("gap", timedelta(minutes=10)))
    return {
        "room": "GRADE-B-1",
        "started_at": start.isoformat(),
        "ended_at": end.isoformat(),
        "values": GOOD.get(step_id, {}) if values is None else values,
        **USED.get(step_id, {}),
        **more,
    }


async def perform(
    client: httpx.AsyncClient,
    harness: ServiceHarness,
    batch_id: str,
    step_id: str,
    values: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **more: Any,
) -> httpx.Response:
    body = perform_body(harness, step_id, values, **more)
    return await signed(client, f"/batches/{batch_id}/steps/{step_id}", body, headers)


def good_value(p: Parameter) -> dict[str, Any]:
    """A value within the parameter's limits."""
    value: Any
    match p.type:
        case ParameterType.BOOLEAN:
            value = True
        case ParameterType.CHOICE:
            value = p.choices[0]
        case ParameterType.TEXT:
            value = "LN2-02 rack 3 box 7"
        case _:
            lo, hi = p.lower_limit, p.upper_limit
            if p.target is not None:
                value = p.target
            elif lo is not None and hi is not None:
                value = (lo + hi) / 2
            elif lo is not None:
                value = lo * 2 if lo > 0 else lo + 1
            else:
                assert hi is not None
                value = hi - 10 if hi <= 0 else hi / 2
            if p.type is ParameterType.INTEGER:
                value = int(value)
    return {"value": value, **({"unit": p.unit} if p.unit else {})}


def seed_entry(harness: ServiceHarness, step: MbrStep, **values: Any) -> dict[str, Any]:
    """The body performing ``step`` of a seeded MBR: every value within its limits (but
    ``values``), each material and instrument the step names."""
    return perform_body(
        harness,
        step.step_id,
        {p.name: good_value(p) for p in step.parameters} | values,
        room="GRADE-B-SUITE-2",
        materials=[
            {
                "material_code": m.material_code,
                "lot_id": f"LOT-{m.material_code}",
                "quantity": m.quantity,
                "unit": m.unit,
            }
            for m in step.materials
        ],
        equipment=[{"equipment_id": f"EQ-{t}", "equipment_type": t} for t in step.equipment_types],
    )
