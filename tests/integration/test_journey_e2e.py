"""The whole vein-to-vein path: every service and the journey as its own OS process on the
real stack (Kafka, Temporal), three journeys driven only through the HTTP APIs.

Asserts the final state in Temporal, each service's read model (through its API), and —
with a plain Kafka consumer that knows only the topic names — that every message carries
the CloudEvents headers, is keyed by CoI, is in order per CoI, and that no topic carries a
patient's name, birth date or record number.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from v2v_cli.journeys import (
    ANALYST,
    COORDINATOR,
    COURIER,
    LOGISTICS,
    NURSE,
    QA_REVIEWER,
    RECEIVER,
    SPECIALIST,
    Driver,
    Endpoints,
    Patient,
    Plan,
)
from v2v_cli.stack.platform import DEMO_PRODUCT
from v2v_cli.testing import ProvisionedStack
from v2v_cli.tokens import TokenBroker
from v2v_events.catalog import Service, all_topics, consumer_group, events_topic

from .support import caught_up, eventually, produce_raw, read_all

pytestmark = pytest.mark.integration

REQUIRED = (
    "ce_id",
    "ce_type",
    "ce_source",
    "ce_specversion",
    "ce_time",
    "ce_subject",
    "content-type",
)


@pytest.mark.requirement("EU-Annex11.5", "EU-PartIV.6.7")
async def test_three_journeys_end_to_end(
    platform: Endpoints, stack: ProvisionedStack, tokens: TokenBroker
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    cohort = [
        (
            Patient(f"Ada Testperson{tag}", "1961-04-02", f"MRN-A{tag}", DEMO_PRODUCT),
            Plan(),
            "completed",
        ),
        (
            Patient(f"Ben Testperson{tag}", "1958-09-17", f"MRN-B{tag}", DEMO_PRODUCT),
            Plan(oos_attempts={1}, retained_aliquots=1),
            "completed-after-remanufacture",
        ),
        (
            Patient(f"Cleo Testperson{tag}", "1970-01-30", f"MRN-C{tag}", DEMO_PRODUCT),
            Plan(late_collection_attempts={1}),
            "completed-after-recollection",
        ),
        (
            Patient(f"Dev Testperson{tag}", "1966-06-11", f"MRN-D{tag}", DEMO_PRODUCT),
            Plan(withdrawn_after_release={1}, retained_aliquots=1),
            "completed-after-remanufacture",
        ),
    ]
    log: list[str] = []
    driver = Driver(platform, log=log.append, timeout=150)
    try:
        cois = [await driver.enroll(p) for p, _, _ in cohort]
        await asyncio.gather(
            *(driver.journey(p, plan, coi) for (p, plan, _), coi in zip(cohort, cois, strict=True))
        )
    finally:
        await driver.close()

    # --- Temporal: each journey ended as expected -------------------------------------------
    client = await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)
    views: dict[str, Any] = {}
    for (_, _, expected), coi in zip(cohort, cois, strict=True):
        handle = client.get_workflow_handle(f"journey-{coi}")
        view = views[coi] = await asyncio.wait_for(handle.result(), 120)
        assert (view["status"], view["outcome"]) == ("completed", expected), "\n".join(log)
        attrs = (await handle.describe()).search_attributes
        assert attrs["CoI"] == [coi]
        assert attrs["JourneyStatus"] == ["completed"]
        assert attrs["JourneyStage"] == ["done"]

    straight, remade, recollected, withdrawn = cois
    await _replayed_enrolment_starts_nothing(stack, client, straight)
    async with httpx.AsyncClient(timeout=30) as http:
        readers = {
            platform.custody: COORDINATOR,
            platform.batch: SPECIALIST,
            platform.qc: ANALYST,
            platform.logistics: LOGISTICS,
        }

        async def get(url: str) -> Any:
            # every read says who asks: someone whose work it is to read that service
            who = next(person for base, person in readers.items() if url.startswith(base))
            resp = await http.get(url, headers=await tokens.headers(who))
            assert resp.status_code == 200, resp.text
            return resp.json()

        # --- each service's read model -------------------------------------------------------
        journey_actor = "system:system-journey"
        for coi in cois:
            units = await get(f"{platform.custody}/patients/{coi}/units")
            final = [u for u in units if u["kind"] == "final-product"]
            assert sum(u["status"] == "infused" for u in final) == 2, units
            # no compensation rejects anything: a failed lot or a late apheresis unit is held
            # in QC for QA to dispose of, never rejected by the journey
            assert all(u["status"] != "rejected" for u in units), units
            # lymphodepletion and the infusion slot of the infused attempt, booked and kept
            bookings = await get(f"{platform.logistics}/bookings?coi={coi}")
            kept = {b["kind"] for b in bookings if b["status"] == "booked"}
            assert {"infusion-slot", "lymphodepletion"} <= kept, bookings
            [plan] = [
                b for b in bookings if b["kind"] == "lymphodepletion" and b["status"] == "booked"
            ]
            [slot] = [
                b for b in bookings if b["booking_id"] == plan["details"]["infusion_booking_id"]
            ]
            gap = datetime.fromisoformat(slot["details"]["infusion_date"]) - datetime.fromisoformat(
                plan["details"]["start_date"]
            )
            assert gap.days >= 3, (plan, slot)  # the demo policy's lymphodepletion gap
        # custody's acts are signed by the demo people who did them (subjects as records)
        people = {w: await tokens.subject(w) for w in (RECEIVER, COURIER, COORDINATOR, NURSE)}
        units = await get(f"{platform.custody}/patients/{straight}/units")
        for bag in (u for u in units if u["kind"] == "final-product"):
            chain = await get(f"{platform.custody}/units/{bag['unit_id']}/transfers")
            assert [
                [(s["meaning"], s["signer_id"]) for s in link["signatures"]] for link in chain
            ] == [
                [("performed", people[RECEIVER]), ("received", people[COURIER])],
                [("received", people[COORDINATOR])],
            ], chain
        record = await get(f"{platform.custody}/patients/{straight}")
        [infusion] = record["infusions"]
        assert [(s["meaning"], s["signer_id"]) for s in infusion["signatures"]] == [
            ("performed", people[NURSE])
        ]
        # the failed lot of the re-manufactured journey: held in QC at the journey's request
        # (QA disposes of it), not rejected; its shipment cancelled, no infusion booked for it
        batches = await get(f"{platform.batch}/batches?coi={remade}")
        assert sorted(b["attempt"] for b in batches) == [1, 2]
        assert {b["source"] for b in batches} == {"fresh-apheresis", "retained-apheresis"}
        first_lot = next(b["lot_id"] for b in batches if b["attempt"] == 1)
        assert (await get(f"{platform.batch}/lots/{first_lot}"))["status"] == "quarantined"
        [held] = await get(f"{platform.qc}/holds?kind=lot&id={first_lot}")
        assert (held["state"], held["placed_by"]["user_id"]) == ("placed", journey_actor), held
        assert held["reason"].startswith("journey compensation:"), held
        panels = await get(f"{platform.qc}/panels?coi={remade}")
        assert sorted(p["status"] for p in panels) == ["in-specification", "out-of-specification"]
        assert all(p["deviation_id"] for p in panels if p["status"] == "out-of-specification")
        # each panel's results signed by the analyst and reviewed (signed) by the QC reviewer
        for panel in panels:
            assert panel["review_status"] == "current", panel
            meanings = {s["meaning"] for s in panel["signatures"]}
            assert meanings == {"performed", "reviewed"}, panel["signatures"]
        [released] = [p for p in panels if p["status"] == "in-specification"]
        assert released["decision"]["signature"]["meaning"] == "released"
        bookings = await get(f"{platform.logistics}/bookings?coi={remade}")
        cancelled = {(b["kind"], b["attempt"]) for b in bookings if b["status"] == "cancelled"}
        assert ("shipment", 1) in cancelled, bookings
        infusion = {
            b["attempt"] for b in bookings if b["kind"] in ("infusion-slot", "lymphodepletion")
        }
        assert infusion == {2}, bookings  # attempt 1 was never released: nothing booked for it
        # the late apheresis unit was held (not rejected) and a second collection made
        units = await get(f"{platform.custody}/patients/{recollected}/units")
        apheresis = [u for u in units if u["kind"] == "apheresis"]
        assert len(apheresis) == 2
        late = [
            h
            for u in apheresis
            for h in await get(f"{platform.qc}/holds?kind=unit&id={u['unit_id']}")
        ]
        assert [h["placed_by"]["user_id"] for h in late] == [journey_actor], late
        # the lot manufacturing found failed after release: recorded as such (not a
        # rejection), held in QC; bookings undone at once, then people decided
        waited = [
            h["note"] for h in views[withdrawn]["history"] if h["stage"] == "awaiting-decision"
        ]
        qa = await tokens.subject(QA_REVIEWER)  # records name people by their stable subject
        assert f"remanufacture decided by {qa}" in waited, views[withdrawn]["history"]
        bookings = await get(f"{platform.logistics}/bookings?coi={withdrawn}")
        # what attempt 1 booked for the lot: the courier, and lymphodepletion and the infusion
        # slot when the journey saw the release before the failure
        first = [
            b
            for b in bookings
            if b["attempt"] == 1
            and b["kind"] != "collection"
            and b["details"].get("direction") != "inbound"
        ]
        assert all(b["status"] == "cancelled" for b in first), bookings
        assert "shipment" in {b["kind"] for b in first}, bookings
        batches = await get(f"{platform.batch}/batches?coi={withdrawn}")
        failed_lot = next(b["lot_id"] for b in batches if b["attempt"] == 1)
        lot = await get(f"{platform.batch}/lots/{failed_lot}")
        assert (lot["status"], lot["rejection"]) == ("manufacturing-failed", None), lot
        held_lot = await get(f"{platform.qc}/holds?kind=lot&id={failed_lot}")
        assert held_lot and all(h["state"] == "placed" for h in held_lot), held_lot
        straight_bookings = await get(f"{platform.logistics}/bookings?coi={straight}")
        assert all(b["status"] != "cancelled" for b in straight_bookings)

    # --- Kafka, as any integrator sees it ------------------------------------------------------
    secrets = [v.encode() for p, _, _ in cohort for v in (p.name, p.birth_date, p.mrn)]
    ours = set(cois)
    per_coi_topics: dict[tuple[str, str], list[Any]] = defaultdict(list)
    seen_types: set[str] = set()
    # per CoI, each message once (a redelivered copy has the same ce_id): id -> (time, type)
    timeline: dict[str, dict[str, tuple[datetime, str]]] = defaultdict(dict)
    for spec in all_topics():
        for rec in await read_all(stack.kafka_bootstrap, spec.name, 0, timeout=3):
            blob = (rec.value or b"") + b"".join(v for _, v in rec.headers) + (rec.key or b"")
            assert not any(s in blob for s in secrets), f"patient data on {spec.name}"
            headers = {k: v.decode() for k, v in rec.headers}
            if headers.get("ce_subject") not in ours:
                continue
            for name in REQUIRED:
                assert name in headers, (spec.name, name)
            assert rec.key.decode() == headers["ce_subject"]
            seen_types.add(headers["ce_type"])
            at = datetime.fromisoformat(headers["ce_time"])
            timeline[headers["ce_subject"]][headers["ce_id"]] = (at, headers["ce_type"])
            per_coi_topics[(headers["ce_subject"], spec.name)].append(rec)
    for (coi, topic), recs in per_coi_topics.items():
        assert len({r.partition for r in recs}) == 1, (coi, topic)
        # At-least-once: a redelivered copy (same ce_id, e.g. the replay above) is not news.
        firsts = {dict(r.headers)["ce_id"]: r for r in reversed(recs)}
        recs = sorted(firsts.values(), key=lambda r: r.offset)
        times = [datetime.fromisoformat(dict(r.headers)["ce_time"].decode()) for r in recs]
        assert times == sorted(times), f"{topic} out of order for {coi}"
    # No compensation rejects: no rejection is asked for or published on any journey's CoI
    rejections = {f"org.vein2vein.{t}" for t in ("batch.lot.reject", "batch.lot.rejected")} | {
        f"org.vein2vein.{t}" for t in ("custody.unit.reject", "custody.unit.rejected")
    }
    assert not seen_types & rejections, seen_types & rejections
    # lymphodepletion and the infusion slot are booked only after QA released a lot
    for coi in cois:
        events = sorted(timeline[coi].values())
        released = [at for at, t in events if t == "org.vein2vein.qc.lot.released"]
        booked = [
            at
            for at, t in events
            if t
            in (
                "org.vein2vein.logistics.infusion-slot.book",
                "org.vein2vein.logistics.lymphodepletion.book",
            )
        ]
        assert booked and released, (coi, events)
        assert all(any(r <= at for r in released) for at in booked), (coi, events)
    # the re-manufactured journey's first lot (out of specification) had none booked
    booked_remade = [
        t for _, t in timeline[remade].values() if t == "org.vein2vein.logistics.infusion-slot.book"
    ]
    assert len(booked_remade) == 1, sorted(timeline[remade].values())
    for expected_type in (
        "custody.patient.enrolled",
        "logistics.collection.schedule",
        "batch.lot.produced",
        "qc.panel.evaluated",
        "qc.lot.released",
        "journey.treatment-center.notified",
        "journey.journey.ended",
        "custody.infusion.recorded",
        "logistics.lymphodepletion.booked",
        "qc.hold.place",
        "qc.hold.placed",
        "batch.manufacturing.failed",
    ):
        assert f"org.vein2vein.{expected_type}" in seen_types, expected_type


async def _replayed_enrolment_starts_nothing(
    stack: ProvisionedStack, client: Client, coi: str
) -> None:
    """An exact duplicate of a completed journey's ``patient.enrolled`` (same id, key,
    headers and value) reaches the bridge and starts no second run."""
    topic = events_topic(Service.CUSTODY)
    enrolment = next(
        r
        for r in await read_all(stack.kafka_bootstrap, topic, 1, timeout=5)
        if r.key == coi.encode()
        and dict(r.headers)["ce_type"] == b"org.vein2vein.custody.patient.enrolled"
    )
    await produce_raw(
        stack.kafka_bootstrap, topic, enrolment.key, enrolment.value, list(enrolment.headers)
    )
    group = consumer_group(Service.JOURNEY, "bridge")
    assert await eventually(lambda: caught_up(stack.kafka_bootstrap, group, topic), bool)
    runs = [w async for w in client.list_workflows(f"WorkflowId = 'journey-{coi}'")]
    assert [w.status.name for w in runs] == ["COMPLETED"], runs
