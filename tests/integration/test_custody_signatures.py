"""Custody's signed acts on the real Keycloak (the demo realm's people re-authenticate at its
signing client): a handoff signed by both parties on one tablet, each signature carrying its
own signer's subject; the receipt by the receiver; the thaw and the infusion by the infusing
nurse.
In-process services over ASGI (tests/integration/access_world.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from v2v_cli.tokens import TokenBroker
from v2v_events.contracts.batch import LotProduced
from v2v_events.contracts.common import Actor
from v2v_events.contracts.qc import LotReleased
from v2v_runtime.inbox import Outcome

from .access_world import PROBLEM, World, open_world

pytestmark = pytest.mark.integration

TC, AC, MS = "treatment-center-1", "apheresis-center-1", "manufacturing-site-1"
COURIER = "cryo-courier-eu"


@pytest.fixture(scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, oidc_issuer: str, tokens: TokenBroker
) -> AsyncIterator[World]:
    async with open_world(tmp_path_factory.mktemp("custody-signing"), oidc_issuer, tokens) as w:
        yield w


def ok(r: httpx.Response) -> Any:
    assert r.is_success, r.text
    return r.json()


def problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["type"] == f"{PROBLEM}{code}", r.text


def signers(found: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(s["meaning"], s["signer_id"], s["signer_name"]) for s in found]


async def person(world: World, username: str, name: str) -> tuple[str, str]:
    return await world.broker.subject(username), name


def handoff(unit_id: str, site: str, temperature_c: float) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "from_party": site,
        "to_party": COURIER,
        "location": site,
        "temperature_c": temperature_c,
    }


@pytest.mark.requirement("21CFR11.100(a)", "21CFR11.200(a)(2)", "EU-Annex11.14(a)", "21CFR11.10(g)")
async def test_custody_acts_are_signed_by_the_people_who_do_them(world: World) -> None:
    now = datetime.now(UTC)
    enrolment = {
        "name": "Signing Testperson",
        "birth_date": "1969-02-11",
        "medical_record_number": f"MRN-SIGN-{now.timestamp():.0f}",
        "therapy": "CAR-T",
        "product_code": "S1234",
        "autologous": True,
        "treatment_center": TC,
        "apheresis_center": AC,
        "manufacturing_site": MS,
        "patient_weight_kg": 70.0,
        "earliest_collection": now.date().isoformat(),
    }
    coi = ok(await world.post("custody", "/patients", enrolment, "treatment-center-coordinator"))[
        "coi"
    ]
    collection = {
        "apheresis_center": AC,
        "volume_ml": 200.0,
        "total_nucleated_cells": 9e9,
        "collection_started_at": (now - timedelta(hours=4)).isoformat(),
        "collection_ended_at": (now - timedelta(hours=1)).isoformat(),
    }
    unit = ok(
        await world.post("custody", f"/patients/{coi}/collections", collection, "apheresis-nurse")
    )
    uid = unit["unit_id"]
    nurse = await person(world, "apheresis-nurse", "Anna Petrova")
    courier = await person(world, "courier", "Carl Rivers")

    # one person cannot sign both sides; a courier of the other site does not sign here
    given = handoff(uid, AC, 4.0)
    same = {"counter_signature": "apheresis-nurse"}
    r = await world.signed("custody", "/transfers", given, "apheresis-nurse", also=same)
    problem(r, 403, "handoff-to-self")
    elsewhere = {"counter_signature": "courier-site2"}
    r = await world.signed("custody", "/transfers", given, "apheresis-nurse", also=elsewhere)
    problem(r, 403, "signer-not-allowed")
    # the nurse hands the bag to the courier: both sign on the nurse's tablet
    both = {"counter_signature": "courier"}
    done = ok(await world.signed("custody", "/transfers", given, "apheresis-nurse", also=both))
    assert signers(done["signatures"]) == [("performed", *nurse), ("received", *courier)]
    assert done["actor"]["user_id"] == nurse[0]

    scan = {
        "unit_id": uid,
        "scanned_coi": coi,
        "scanned_din": unit["din"],
        "location": MS,
        "location_kind": "manufacturing-site",
    }
    received = ok(await world.signed("custody", "/receipts", scan, "materials-handler"))
    handler = await person(world, "materials-handler", "Mia Hansen")
    assert signers(received["signatures"]) == [("received", *handler)]
    chain = ok(await world.get("custody", f"/units/{uid}/transfers", "auditor"))
    assert [signers(link["signatures"]) for link in chain] == [
        [("performed", *nurse), ("received", *courier)],
        [("received", *handler)],
    ]

    # the final product: handed to the courier at the site, received and infused at the center
    produced = LotProduced(
        coi=coi,
        batch_id="batch-sign-1",
        lot_id="lot-sign-1",
        bag_ids=["lot-sign-1-bag-1"],
        total_viable_cells=3.0e8,
        viability_pct=88.0,
        retained_aliquots_remaining=1,
        manufacturing_site=MS,
        produced_at=now - timedelta(hours=2),
        expires_at=now + timedelta(days=300),
        actor=Actor(user_id="specialist", role="cell-therapy-specialist"),
    )
    custody = world.harnesses["custody"]
    assert await custody.deliver(produced, subject=coi) is Outcome.PROCESSED
    bag = "lot-sign-1-bag-1"
    out = handoff(bag, MS, -180.0)
    ok(await world.signed("custody", "/transfers", out, "materials-handler", also=both))
    at_center = {"unit_id": bag, "scanned_coi": coi, "location": TC}
    arrival = {**at_center, "location_kind": "treatment-center"}
    ok(await world.signed("custody", "/receipts", arrival, "treatment-center-coordinator"))
    released = LotReleased(
        coi=coi,
        lot_id="lot-sign-1",
        panel_id="panel-sign-1",
        certificate_id="coa-sign-1",
        decided_at=now - timedelta(hours=1),
        actor=Actor(user_id="qa", role="qa-reviewer"),
    )
    assert await custody.deliver(released, subject=coi) is Outcome.PROCESSED
    ines = await person(world, "infusion-nurse", "Ines Moreau")
    thaw = {"thaw_started_at": datetime.now(UTC).isoformat()}
    thawed = ok(
        await world.signed("custody", f"/patients/{coi}/units/{bag}/thaw", thaw, "infusion-nurse")
    )
    assert signers(thawed["signatures"]) == [("performed", *ines)]
    infusion = {"unit_ids": [bag], "infused_at": datetime.now(UTC).isoformat()}
    url = f"/patients/{coi}/infusions"
    r = await world.signed("custody", url, infusion, "infusion-nurse-site2")
    problem(r, 404, "patient-not-found")  # another site's nurse: not their patient
    infused = ok(await world.signed("custody", url, infusion, "infusion-nurse"))
    assert signers(infused["signatures"]) == [("performed", *ines)]
    record = ok(await world.get("custody", f"/patients/{coi}", "infusion-nurse"))
    assert [signers(i["signatures"]) for i in record["infusions"]] == [[("performed", *ines)]]
