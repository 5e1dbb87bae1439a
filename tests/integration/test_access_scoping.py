"""Site scoping, patient identity, segregation of duties and machine clients, on the real
Keycloak's demo users of two sites (deploy/keycloak/vein2vein-realm.json) and users of the
tests' own. In-process services over ASGI (tests/integration/access_world.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from v2v_cli.tokens import TokenBroker
from v2v_custody.domain.identity import identity_stream
from v2v_events.contracts.batch import LotProduced
from v2v_events.contracts.common import Actor, ShipmentDirection, TemperatureClass
from v2v_events.contracts.custody import CollectionRecorded
from v2v_events.contracts.logistics import BookShipment, ShipmentBooked
from v2v_events.contracts.qc import OrderPanel, PanelOrdered
from v2v_runtime.eventstore import events
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, signed

from .access_world import PROBLEM, World, open_world, own_user

pytestmark = pytest.mark.integration

JOURNEY = Actor(user_id="system:system-journey", role="system-journey")
SITE = {  # the demo realm's two sites: their centers and the users working there
    1: {"tc": "treatment-center-1", "ac": "apheresis-center-1", "ms": "manufacturing-site-1"},
    2: {"tc": "treatment-center-2", "ac": "apheresis-center-2", "ms": "manufacturing-site-2"},
}
COORDINATOR = {1: "treatment-center-coordinator", 2: "treatment-center-coordinator-site2"}
APHERESIS_NURSE = {1: "apheresis-nurse", 2: "apheresis-nurse-site2"}
SPECIALIST = {1: "cell-therapy-specialist", 2: "cell-therapy-specialist-site2"}
QA = {1: "qa-reviewer", 2: "qa-reviewer-site2"}
# Who may see a patient's identity, written here independently of the code.
CLINICAL = {"treatment-center-coordinator", "apheresis-nurse", "infusion-nurse"}
PASSING: dict[str, Any] = {
    "viability": 85.2,
    "car_pos": 30,
    "cd3_pos": 92,
    "vcn": 2.1,
    "endotoxin": 0.1,
    "sterility": "no growth",
    "mycoplasma": "negative",
    "rcl": "not detected",
    "identity": "confirmed",
    "potency": 1200,
}


@pytest.fixture(scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, oidc_issuer: str, tokens: TokenBroker
) -> AsyncIterator[World]:
    async with open_world(tmp_path_factory.mktemp("scoping"), oidc_issuer, tokens) as w:
        yield w


def ok(r: httpx.Response) -> Any:
    assert r.is_success, r.text
    return r.json()


def problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["type"] == f"{PROBLEM}{code}", r.text


async def deliver(h: ServiceHarness, message: Any) -> None:
    assert await h.deliver(message, subject=message.coi) is Outcome.PROCESSED


def enrolment(site: int, mrn: str) -> dict[str, Any]:
    s = SITE[site]
    return {
        "name": f"Scoping Testperson {mrn}",
        "birth_date": "1975-03-14",
        "medical_record_number": mrn,
        "therapy": "CAR-T",
        "product_code": "S1234",
        "autologous": True,
        "treatment_center": s["tc"],
        "apheresis_center": s["ac"],
        "manufacturing_site": s["ms"],
        "patient_weight_kg": 70.0,
        "earliest_collection": datetime.now(UTC).date().isoformat(),
    }


async def enrolled(world: World, site: int, mrn: str) -> str:
    r = await world.post("custody", "/patients", enrolment(site, mrn), COORDINATOR[site])
    return str(ok(r)["coi"])


async def lot_with_panel(world: World, site: int, coi: str, lot_id: str) -> str:
    """QC knows a lot of ``site`` and has ordered its panel; returns the panel id."""
    qc = world.harnesses["qc"]
    now = datetime.now(UTC)
    produced = LotProduced(
        coi=coi,
        batch_id=f"batch-{lot_id}",
        lot_id=lot_id,
        bag_ids=[f"{lot_id}-bag-1"],
        total_viable_cells=3.0e8,
        viability_pct=88.0,
        retained_aliquots_remaining=1,
        manufacturing_site=SITE[site]["ms"],
        produced_at=now - timedelta(hours=1),
        expires_at=now + timedelta(days=300),
        actor=Actor(user_id="specialist", role="cell-therapy-specialist"),
    )
    await deliver(qc, produced)
    order = OrderPanel(
        coi=coi, lot_id=lot_id, product_code="S1234", patient_weight_kg=70.0, actor=JOURNEY
    )
    await deliver(qc, order)
    return next(p.panel_id for p in await qc.published(PanelOrdered) if p.lot_id == lot_id)


@pytest.mark.requirement("21CFR11.10(g)", "EU-Annex11.12.1")
async def test_people_see_and_act_on_their_own_sites_only(world: World) -> None:
    one, two = await enrolled(world, 1, "MRN-SCOPE-1"), await enrolled(world, 2, "MRN-SCOPE-2")

    # custody: another site's patient does not exist for you, and you cannot enrol there
    assert (await world.get("custody", f"/patients/{one}", COORDINATOR[1])).status_code == 200
    for coi, other in ((one, 2), (two, 1)):
        r = await world.get("custody", f"/patients/{coi}", COORDINATOR[other])
        problem(r, 404, "patient-not-found")
        problem(await world.get("custody", f"/patients/{coi}/units", SPECIALIST[other]), 404,
                "patient-not-found")  # fmt: skip
    r = await world.post("custody", "/patients", enrolment(1, "MRN-SCOPE-X"), COORDINATOR[2])
    problem(r, 403, "site-not-yours")
    collection = {
        "apheresis_center": SITE[1]["ac"],
        "volume_ml": 220.0,
        "total_nucleated_cells": 1.1e10,
        "collection_started_at": (datetime.now(UTC) - timedelta(hours=4)).isoformat(),
        "collection_ended_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    }
    r = await world.post("custody", f"/patients/{one}/collections", collection, APHERESIS_NURSE[2])
    problem(r, 404, "patient-not-found")
    unit = ok(
        await world.post("custody", f"/patients/{one}/collections", collection, APHERESIS_NURSE[1])
    )

    # batch: a specialist opens batches at their own site and sees only those
    collected = CollectionRecorded(
        coi=one,
        din=unit["din"],
        din_check=unit["din_check"],
        unit_id=unit["unit_id"],
        apheresis_center=SITE[1]["ac"],
        volume_ml=220.0,
        total_nucleated_cells=1.1e10,
        collection_started_at=datetime.now(UTC) - timedelta(hours=4),
        collection_ended_at=datetime.now(UTC) - timedelta(hours=1),
        actor=Actor(user_id="nurse", role="apheresis-nurse"),
    )
    await deliver(world.harnesses["batch"], collected)
    body = {
        "coi": one,
        "apheresis_unit_id": unit["unit_id"],
        "din": unit["din"],
        "manufacturing_site": SITE[1]["ms"],
        "attempt": 1,
    }
    problem(await world.post("batch", "/batches", body, SPECIALIST[2]), 403, "site-not-yours")
    batch_id = ok(await world.post("batch", "/batches", body, SPECIALIST[1]))["batch_id"]
    mine = ok(await world.get("batch", "/batches", SPECIALIST[1], coi=one))
    assert [b["batch_id"] for b in mine] == [batch_id]
    assert ok(await world.get("batch", "/batches", SPECIALIST[2], coi=one)) == []
    problem(await world.get("batch", f"/batches/{batch_id}", SPECIALIST[2]), 404,
            "batch-not-found")  # fmt: skip
    step = {
        "step": "selection",
        "equipment_id": "EQ-SEL-01",
        "started_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
        "ended_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
    }
    r = await world.post("batch", f"/batches/{batch_id}/steps", step, SPECIALIST[2])
    problem(r, 404, "batch-not-found")

    # qc: panels, lots and decisions of the reviewer's own site only
    panel_one = await lot_with_panel(world, 1, one, "lot-scope-1")
    panel_two = await lot_with_panel(world, 2, two, "lot-scope-2")
    for coi, panel, site in ((one, panel_one, 1), (two, panel_two, 2)):
        seen = [p["panel_id"] for p in ok(await world.get("qc", "/panels", QA[site], coi=coi))]
        assert seen == [panel]
        assert ok(await world.get("qc", "/panels", QA[3 - site], coi=coi)) == []
    problem(await world.get("qc", f"/panels/{panel_one}", QA[2]), 404, "panel-not-found")
    decision = {"decision": "reject", "reason": "not this reviewer's site"}
    r = await world.signed("qc", "/lots/lot-scope-1/decision", decision, QA[2])
    problem(r, 404, "lot-not-found")

    # logistics: a courier of site 1 sees and moves site 1's shipments only
    logistics = world.harnesses["logistics"]
    for coi, site in ((one, 1), (two, 2)):
        book = BookShipment(
            coi=coi,
            direction=ShipmentDirection.INBOUND,
            temperature_class=TemperatureClass.FRESH_2_8,
            unit_ids=[f"unit-{site}"],
            origin=SITE[site]["ac"],
            destination=SITE[site]["ms"],
            attempt=1,
            actor=JOURNEY,
        )
        await deliver(logistics, book)
    shipments = {s.coi: s.shipment_id for s in await logistics.published(ShipmentBooked)}
    seen = ok(await world.get("logistics", "/shipments", "courier", coi=one))
    assert [s["shipment_id"] for s in seen] == [shipments[one]]
    assert ok(await world.get("logistics", "/shipments", "courier", coi=two)) == []
    pickup = {"courier": "courier-1", "picked_up_at": datetime.now(UTC).isoformat()}
    r = await world.post("logistics", f"/shipments/{shipments[two]}/pickup", pickup, "courier")
    assert r.status_code == 404, r.text


async def identity_reads(world: World, coi: str) -> list[str]:
    """Who the identity of ``coi`` was shown to, from custody's event store."""
    async with world.harnesses["custody"].kit.sessions() as s:
        rows = await s.execute(
            select(events.c.event_type, events.c.actor)
            .where(events.c.stream_id == identity_stream(coi))
            .order_by(events.c.version)
        )
        return [r.actor["user_id"] for r in rows if r.event_type == "custody.identity.viewed"]


@pytest.mark.requirement("21CFR11.10(g)")
async def test_patient_identity_only_for_clinical_roles_and_every_read_recorded(
    world: World,
) -> None:
    coi = await enrolled(world, 1, "MRN-PII-1")
    readers = [
        "treatment-center-coordinator",
        "apheresis-nurse",
        "infusion-nurse",
        "logistics-coordinator",
        "courier",
        "materials-handler",
        "cell-therapy-specialist",
        "manufacturing-supervisor",
        "qa-reviewer",
        "qualified-person",
        "auditor",
    ]
    shown_to = []
    for who in readers:
        record = ok(await world.get("custody", f"/patients/{coi}", who))
        assert record["coi"] == coi
        identity = (record["name"], record["birth_date"], record["medical_record_number"])
        if who in CLINICAL:
            assert identity == ("Scoping Testperson MRN-PII-1", "1975-03-14", "MRN-PII-1"), who
            shown_to.append(await world.broker.subject(who))
        else:
            assert identity == (None, None, None), who
    assert sorted(shown_to) and sorted(await identity_reads(world, coi)) == sorted(shown_to)
    # machine clients never read patients; nor do roles without the need
    for who in ("system-journey", "device-ingest", "courier-integration", "qc-analyst"):
        r = await world.get("custody", f"/patients/{coi}", who)
        problem(r, 403, "role-not-allowed")
    assert sorted(await identity_reads(world, coi)) == sorted(shown_to)


@pytest.mark.requirement("21CFR11.10(g)", "EU-Annex11.15", "EU-PartIV.11.3.1")
async def test_who_entered_a_result_cannot_review_or_release_the_lot(
    world: World, admin: httpx.AsyncClient
) -> None:
    coi = await enrolled(world, 1, "MRN-SOD-1")
    panel_id = await lot_with_panel(world, 1, coi, "lot-sod-1")
    roles, sites = ["qc-analyst", "qa-reviewer", "qc-reviewer"], [SITE[1]["ms"]]
    async with own_user(admin, roles, sites) as (username, password):
        issued = await world.broker.password_grant(username, password)
        both = {"Authorization": f"Bearer {issued.access_token}"}
        async with world.client("qc") as qc:
            first, *rest = PASSING.items()
            results = f"/panels/{panel_id}/results"
            entry = {"test_code": first[0], "value": first[1]}
            r = await signed(qc, results, entry, both, signer=username, password=password)
            assert r.status_code == 201, r.text
            for code, value in rest:
                body = {"test_code": code, "value": value}
                ok(await world.signed("qc", results, body, "qc-analyst"))
            # nor review them (QC review: a second person)
            review = f"/panels/{panel_id}/review"
            r = await signed(qc, review, {}, both, signer=username, password=password)
            problem(r, 403, "review-by-analyst")
            release = {"decision": "release", "reason": "record, results and trail reviewed"}
            path = "/lots/lot-sod-1/decision"
            r = await signed(qc, path, release, both, signer=username, password=password)
            problem(r, 403, "release-by-result-author")
        # the site's QC reviewer, who entered nothing, reviews them
        reviewed = ok(await world.signed("qc", review, {}, "qc-reviewer"))
        assert reviewed["review_status"] == "current"
        [signature] = [s for s in reviewed["signatures"] if s["meaning"] == "reviewed"]
        assert signature["signer_name"] == "Rita Chen"
        # another QA reviewer, who entered nothing, releases it
        ok(await world.review_trail("lot-sod-1", coi, "qa-reviewer"))
        released = ok(await world.signed("qc", "/lots/lot-sod-1/decision", release, "qa-reviewer"))
        assert released["decision"] == "release"


@pytest.mark.requirement("21CFR11.10(g)", "EU-PartIV.11.4")
async def test_who_opened_a_deviation_cannot_close_it(world: World) -> None:
    coi = await enrolled(world, 1, "MRN-SOD-2")
    await lot_with_panel(world, 1, coi, "lot-sod-2")
    deviation = {
        "coi": coi,
        "lot_id": "lot-sod-2",
        "classification": "minor",
        "source": "documentation",
        "description": "label printed twice",
    }
    opened = ok(await world.post("qc", "/deviations", deviation, "qa-reviewer"))
    path = f"/deviations/{opened['deviation_id']}"
    classified = {"classification": "minor", "rationale": "no product contact"}
    r = await world.signed("qc", f"{path}/classification", classified, "qa-reviewer")
    problem(r, 403, "classification-by-author")
    ok(await world.signed("qc", f"{path}/classification", classified, "qa-reviewer-2"))
    contained = {"actions": "reprint destroyed", "affected": []}
    ok(await world.post("qc", f"{path}/containment", contained, "qa-reviewer"))
    cause = {"root_cause_category": "people", "narrative": "print job sent twice"}
    ok(await world.post("qc", f"{path}/investigation", cause, "qa-reviewer"))
    closing = {
        "reason": "reprint destroyed; no product impact",
        "no_capa_justification": "an isolated slip, caught at once",
    }
    r = await world.signed("qc", f"{path}/close", closing, "qa-reviewer")
    problem(r, 403, "closure-by-author")
    closed = ok(await world.signed("qc", f"{path}/close", closing, "qa-reviewer-2"))
    assert closed["state"] == "closed"
    assert [(s["meaning"], s["signer_name"]) for s in closed["signatures"]] == [
        ("approved", "Ruth Becker"),
        ("approved", "Ruth Becker"),
    ]


@pytest.mark.requirement(
    "21CFR11.10(g)", "21CFR11.100(a)", "21CFR11.200(a)(2)", "EU-PartIV.6.4", "EU-Annex11.6"
)
async def test_a_second_person_verifies_a_batch_step_on_the_performers_tablet(
    world: World,
) -> None:
    """The specialist performs and signs the steps; the site's supervisor verifies the
    critical one on the specialist's session, with their own Keycloak password; the
    specialist cannot verify their own step, nor can the other site's supervisor."""
    coi = await enrolled(world, 1, "MRN-SOD-3")
    ended = datetime.now(UTC) - timedelta(hours=1)
    collection = {
        "apheresis_center": SITE[1]["ac"],
        "volume_ml": 220.0,
        "total_nucleated_cells": 1.1e10,
        "collection_started_at": (ended - timedelta(hours=3)).isoformat(),
        "collection_ended_at": ended.isoformat(),
    }
    path = f"/patients/{coi}/collections"
    unit = ok(await world.post("custody", path, collection, APHERESIS_NURSE[1]))
    collected = CollectionRecorded(
        coi=coi,
        din=unit["din"],
        din_check=unit["din_check"],
        unit_id=unit["unit_id"],
        apheresis_center=SITE[1]["ac"],
        volume_ml=220.0,
        total_nucleated_cells=1.1e10,
        collection_started_at=ended - timedelta(hours=3),
        collection_ended_at=ended,
        actor=Actor(user_id="nurse", role="apheresis-nurse"),
    )
    await deliver(world.harnesses["batch"], collected)
    body = {"coi": coi, "apheresis_unit_id": unit["unit_id"], "din": unit["din"]}
    body |= {"manufacturing_site": SITE[1]["ms"]}
    batch_id = ok(await world.post("batch", "/batches", body, SPECIALIST[1]))["batch_id"]
    for i, step in enumerate(("selection", "activation", "transduction")):
        at = ended + timedelta(minutes=10 * i)
        times = {"started_at": at.isoformat(), "ended_at": (at + timedelta(minutes=5)).isoformat()}
        r = await world.signed("batch", f"/batches/{batch_id}/steps", {"step": step, **times},
                               SPECIALIST[1])  # fmt: skip
        performed = ok(r)
    [sig] = performed["signatures"]
    assert (sig["meaning"], sig["signer_name"]) == ("performed", "Sam Okafor")
    assert performed["verification_required"] is True
    url = f"/batches/{batch_id}/steps/transduction/verification"
    problem(await world.signed("batch", url, {}, SPECIALIST[1]), 403, "verification-by-performer")
    r = await world.signed("batch", url, {}, SPECIALIST[1], signer="manufacturing-supervisor-site2")
    problem(r, 403, "signer-not-allowed")
    r = await world.signed("batch", url, {}, SPECIALIST[1], signer="manufacturing-supervisor")
    verified = ok(r)
    by, performer = verified["verified_by"], verified["operator"]
    assert by["role"] == "manufacturing-supervisor" and by["user_id"] != performer["user_id"]
    assert [(s["meaning"], s["signer_name"]) for s in verified["signatures"]] == [
        ("performed", "Sam Okafor"),
        ("verified", "Maria Lopez"),
    ]
    assert verified["signatures"][1]["signer_id"] == by["user_id"]


@pytest.mark.requirement("21CFR11.10(g)", "21CFR11.10(h)", "EU-Annex11.15")
async def test_machine_clients_feed_data_but_never_decide(world: World) -> None:
    coi = await enrolled(world, 1, "MRN-MACHINE-1")
    await lot_with_panel(world, 1, coi, "lot-machine-1")
    release = {"decision": "release", "reason": "a machine may not"}
    for client in ("system-journey", "device-ingest", "courier-integration"):
        r = await world.post("qc", "/lots/lot-machine-1/decision", release, client)
        problem(r, 403, "role-not-allowed")
        url = "/lots/lot-machine-1/manufacturing-failure"
        r = await world.post("batch", url, {"reason": "no"}, client)
        problem(r, 403, "role-not-allowed")
    # the courier's system reports a pick-up of a shipment it can see (any site: a machine)
    book = BookShipment(
        coi=coi,
        direction=ShipmentDirection.INBOUND,
        temperature_class=TemperatureClass.FRESH_2_8,
        unit_ids=["unit-machine-1"],
        origin=SITE[1]["ac"],
        destination=SITE[1]["ms"],
        attempt=1,
        actor=JOURNEY,
    )
    logistics = world.harnesses["logistics"]
    await deliver(logistics, book)
    shipment = next(s for s in await logistics.published(ShipmentBooked) if s.coi == coi)
    pickup = {"courier": "cryo-courier-eu", "picked_up_at": datetime.now(UTC).isoformat()}
    path = f"/shipments/{shipment.shipment_id}/pickup"
    picked = ok(await world.post("logistics", path, pickup, "courier-integration"))
    assert picked["status"] == "picked-up"
    problem(await world.post("logistics", path, pickup, "device-ingest"), 403, "role-not-allowed")
