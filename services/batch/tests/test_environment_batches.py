"""Environmental monitoring and the batch record: an action excursion names the batches
whose steps were done in its room within sampled_at ± the impact window (QC opens a
deviation on them), and a batch record shows the alert and action results of each step's
room over the step's time — in GET /batches/{id}, the review by exception and the printed
record — read when shown, so a plate read days after the step appears too."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from v2v_batch.adapters.db.em_tables import EM_TABLES
from v2v_events.contracts.environment import EnvironmentActionLimitExceeded
from v2v_runtime.testing import ServiceHarness, as_user, signed

from .em_support import ANALYST, ROOM, now, recorded, register_room
from .mbr_support import GOOD, clock, effective_mbr, open_mbr_batch, perform
from .support import COI, SITE

AUDITOR = as_user("u-em-auditor", "auditor", sites=[SITE])
AUDITOR_PARIS = as_user("u-em-auditor-paris", "auditor", sites=["SITE-PARIS-1"])


async def performed(
    client: httpx.AsyncClient, harness: ServiceHarness, batch_id: str, step: str, room: str = ROOM
) -> dict[str, Any]:
    r = await perform(client, harness, batch_id, step, room=room)
    assert r.status_code == 201, r.text
    done: dict[str, Any] = r.json()
    return done


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def steps_shown(record: dict[str, Any]) -> dict[str, list[tuple[str, str, bool]]]:
    return {
        s["step_id"]: [(r["sample_id"], r["level"], r["alert_trend"]) for r in s["environment"]]
        for s in record["execution"]["steps"]
    }


@pytest.mark.requirement("EU-Annex1.9", "EU-PartIV.6.4")
async def test_an_action_excursion_names_the_batches_of_its_room_and_shows_in_their_record(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await register_room(client)
    await register_room(client, "GRADE-C-7", grade="C")
    await effective_mbr(harness, client)
    batch_id = await open_mbr_batch(client, harness)
    receipt = await performed(client, harness, batch_id, "receipt")
    await performed(client, harness, batch_id, "selection", room="GRADE-C-7")
    # two days later, the harvest in the grade B room again
    clock(harness).current += timedelta(days=2)
    harvest = await performed(client, harness, batch_id, "harvest")

    # the receipt's settle plate, read five days later: above the action limit
    clock(harness).current += timedelta(days=5)
    sampled = at(receipt["started_at"]) + timedelta(minutes=20)
    plate = await recorded(client, sampled, 7, "SP-R1", read_at=now(harness).isoformat())
    assert plate["level"] == "action"
    [excursion] = await harness.published(EnvironmentActionLimitExceeded)
    assert (excursion.excursion_id, excursion.room_id, excursion.grade.value) == (
        plate["result_id"],
        ROOM,
        "B",
    )
    assert (excursion.value, excursion.action_limit, excursion.edition) == (
        7,
        5,
        "EU GMP Annex 1 (2022)",
    )
    assert (excursion.window_from, excursion.window_to) == (
        sampled - timedelta(hours=24),
        sampled + timedelta(hours=24),
    )
    # only the receipt was done in the room within a day of the sample (the selection was
    # in another room, the harvest two days later)
    [named] = excursion.batches
    assert (named.batch_id, named.coi, named.steps) == (batch_id, COI, ["receipt"])
    assert (named.first_started_at, named.last_ended_at) == (
        at(receipt["started_at"]),
        at(receipt["ended_at"]),
    )
    assert excursion.batch_count == 1

    # an alert in the harvest's window; a within result and another room's plate: not shown
    harvest_plate = at(harvest["ended_at"]) - timedelta(minutes=5)
    await recorded(client, harvest_plate, 3, "SP-H1")
    await recorded(client, harvest_plate, 0, "SP-H2")
    assert len(await harness.published(EnvironmentActionLimitExceeded)) == 1

    record = (await client.get(f"/batches/{batch_id}", headers=ANALYST)).json()
    shown = steps_shown(record)
    assert shown["receipt"] == [("SP-R1", "action", False)]
    assert shown["selection"] == []
    # the harvest plate is an alert, and the second above the alert limit of five samples
    assert shown["harvest"] == [("SP-H1", "alert", True)]
    assert shown["freezing"] == []  # not performed
    [receipt_step] = [s for s in record["execution"]["steps"] if s["step_id"] == "receipt"]
    [r1] = receipt_step["environment"]
    assert (r1["room_id"], r1["limits"]["text"], r1["edition"]) == (
        ROOM,
        "action > 5 CFU/4 h, alert > 2 CFU/4 h",
        "EU GMP Annex 1 (2022)",
    )

    # the review by exception lists the action excursion and the alert trend
    review = (await client.get(f"/batches/{batch_id}/review")).json()
    assert [(r["sample_id"], r["level"]) for r in review["environment"]] == [
        ("SP-R1", "action"),
        ("SP-H1", "alert"),
    ]

    # and so does the printed record
    pdf = await client.get(f"/batches/{batch_id}/record.pdf")
    assert pdf.status_code == 200, pdf.text
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "Environment ACTION: room GRADE-B-1 (grade B), settle-plate SP-R1" in text
    assert "7 CFU/4 h [action > 5 CFU/4 h, alert > 2 CFU/4 h; EU GMP Annex 1 (2022)]" in text
    assert "Environmental monitoring: alert and action results of the rooms used" in text
    assert "SP-H1" in text and "ALERT TREND" in text


async def test_a_step_entered_after_the_result_shows_it_too(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    """The record is computed from the room's results when read: a result recorded before
    the step was entered (a late entry) shows in the step it concerns."""
    await register_room(client)
    await effective_mbr(harness, client)
    batch_id = await open_mbr_batch(client, harness)
    opened = now(harness)
    clock(harness).current = opened + timedelta(hours=3)
    # the plate exposed during the receipt is recorded before anyone entered the receipt
    await recorded(client, opened + timedelta(hours=1), 9, "SP-E1")
    body = {
        "room": ROOM,
        "started_at": (opened + timedelta(minutes=30)).isoformat(),
        "ended_at": (opened + timedelta(hours=1, minutes=30)).isoformat(),
        "values": GOOD["receipt"],
    }
    r = await signed(client, f"/batches/{batch_id}/steps/receipt", body)
    assert r.status_code == 201, r.text
    assert r.json()["late"] is True
    record = (await client.get(f"/batches/{batch_id}")).json()
    assert steps_shown(record)["receipt"] == [("SP-E1", "action", False)]


async def test_every_batch_of_the_room_within_the_window_is_named_and_a_replay_rebuilds_all(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await register_room(client)
    await effective_mbr(harness, client)
    first = await open_mbr_batch(client, harness, unit="APH-MBR-1")
    second = await open_mbr_batch(client, harness, unit="APH-MBR-2")
    a = await performed(client, harness, first, "receipt")
    b = await performed(client, harness, second, "receipt")
    await performed(client, harness, first, "selection")
    plate = await recorded(client, at(b["ended_at"]), 6, "SP-M1")
    [excursion] = await harness.published(EnvironmentActionLimitExceeded)
    assert [(n.batch_id, n.steps) for n in excursion.batches] == [
        (first, ["receipt", "selection"]),
        (second, ["receipt"]),
    ]
    assert excursion.batches[0].first_started_at == at(a["started_at"])
    fix = {"value": 2, "unit": "CFU/4 h", "reason": "the plate of another room"}
    url = f"/environment/results/{plate['result_id']}/corrections"
    assert (await client.post(url, json=fix, headers=ANALYST)).status_code == 201

    before = await snapshot(harness)
    assert all(before.values()), "every monitoring table has rows"
    shown = (await client.get(f"/batches/{first}")).json()
    assert await harness.kit.rebuild() > 0
    assert await snapshot(harness) == before
    assert (await client.get(f"/batches/{first}")).json() == shown
    # corrected below the alert limit: the record shows it no more
    assert steps_shown(shown)["receipt"] == []


async def snapshot(harness: ServiceHarness) -> dict[str, list[tuple[Any, ...]]]:
    async with harness.kit.uow() as uow:
        out = {}
        for table in EM_TABLES:
            rows = (await uow.session.execute(select(table))).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return out


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9")
async def test_a_rooms_audit_trail_belongs_to_its_site(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await register_room(client)
    await recorded(client, now(harness) - timedelta(hours=2), 1, "SP-A1")
    record = f"room-{ROOM}"
    seen = await client.get("/audit-trail", params={"record": record}, headers=AUDITOR)
    assert [e["event_type"] for e in seen.json()["entries"]] == [
        "batch.room.registered",
        "batch.em.result-recorded",
    ]
    elsewhere = await client.get("/audit-trail", params={"record": record}, headers=AUDITOR_PARIS)
    assert elsewhere.json()["entries"] == []
