"""Lineage without lineage parameters: custody's routes and inbox handlers leave it to the
unit of work, and every event they store and message they publish still records it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from v2v_events import REGISTRY
from v2v_events.contracts.batch import LotRejected
from v2v_events.contracts.custody import PatientEnrolled, UnitRejected, UnitsRegistered
from v2v_events.registry import Contract
from v2v_runtime.db.tables import events
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness

from .support import ACTOR, COORDINATOR, START, Custody, enrollment, lot


def name(contract: type[Contract]) -> str:
    return REGISTRY.for_model(contract).name


async def stored_lineage(harness: ServiceHarness, *streams: str) -> set[tuple[str | None, ...]]:
    async with harness.kit.sessions() as s:
        rows = await s.execute(
            select(events.c.event_type, events.c.correlation_id, events.c.causation_id).where(
                events.c.stream_id.in_(streams)
            )
        )
        return {tuple(r) for r in rows}


@pytest.mark.requirement("21CFR11.10(e)")
async def test_a_request_names_the_conversation_of_what_it_records(custody: Custody) -> None:
    r = await custody.client.post(
        "/patients",
        json=enrollment(),
        headers={**COORDINATOR, "X-Correlation-Id": "referral-2026-0042"},
    )
    assert r.status_code == 201, r.text
    coi = r.json()["coi"]
    assert await stored_lineage(custody.harness, coi, f"identity-{coi}") == {
        ("custody.patient.enrolled", "referral-2026-0042", None),
        ("custody.identity.recorded", "referral-2026-0042", None),
    }
    [env] = [e for _, e in await custody.harness.outbox() if e.type == name(PatientEnrolled)]
    assert (env.subject, env.correlationid, env.causationid) == (coi, "referral-2026-0042", None)


@pytest.mark.requirement("21CFR11.10(e)")
async def test_what_a_message_causes_records_that_message(custody: Custody) -> None:
    coi = await custody.enroll()
    outcome = await custody.harness.deliver(
        lot(coi, "LOT-7", ["BAG-1", "BAG-2"]), subject=coi, id="lot-produced-1"
    )
    assert outcome is Outcome.PROCESSED
    rejected = LotRejected(
        coi=coi,
        lot_id="LOT-7",
        reason="sterility failed",
        rejected_at=START,
        actor=ACTOR,
    )
    outcome = await custody.harness.deliver(rejected, subject=coi, id="lot-rejected-1")
    assert outcome is Outcome.PROCESSED

    assert await stored_lineage(custody.harness, "BAG-1", "BAG-2") == {
        ("custody.unit.registered", "lot-produced-1", "lot-produced-1"),
        ("custody.unit.rejected", "lot-rejected-1", "lot-rejected-1"),
    }
    sent = {
        (e.type, e.correlationid, e.causationid)
        for _, e in await custody.harness.outbox()
        if e.type != name(PatientEnrolled)
    }
    assert sent == {
        (name(UnitsRegistered), "lot-produced-1", "lot-produced-1"),
        (name(UnitRejected), "lot-rejected-1", "lot-rejected-1"),
    }
    assert [m.unit_ids for m in await custody.harness.published(UnitsRegistered)] == [
        ["BAG-1", "BAG-2"]
    ]
    assert {m.unit_id for m in await custody.harness.published(UnitRejected)} == {"BAG-1", "BAG-2"}
