"""Concurrent duplicates on SQLite and on a real PostgreSQL, where transactions really run
side by side: an Idempotency-Key acts once, and a patient gets one active CoI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from v2v_custody.bootstrap import build
from v2v_custody.settings import CustodySettings
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.contracts.journey import JourneyEnded
from v2v_runtime import idempotency
from v2v_runtime.testing import COORDINATOR_HEADERS, ServiceHarness

pytestmark = pytest.mark.integration

N = 6


def enrollment(mrn: str) -> dict[str, Any]:
    return {
        "name": "Concurrent Testperson",
        "birth_date": "1970-01-30",
        "medical_record_number": mrn,
        "therapy": "CAR-T",
        "product_code": "S1234",
        "autologous": True,
        "treatment_center": "treatment-center-1",
        "apheresis_center": "apheresis-center-1",
        "manufacturing_site": "manufacturing-site-1",
        "patient_weight_kg": 70.0,
        # within custody's window whatever day the test runs
        "earliest_collection": (datetime.now(UTC).date() + timedelta(days=2)).isoformat(),
    }


@pytest.fixture
async def custody(producer_db: str) -> AsyncIterator[ServiceHarness]:
    settings = CustodySettings(database_url=producer_db, facility_id="A1B2C")
    h = ServiceHarness(build(settings))
    await h.start()
    yield h
    await h.close()


async def test_concurrent_requests_with_one_key_act_once(custody: ServiceHarness) -> None:
    headers = {**COORDINATOR_HEADERS, "Idempotency-Key": "enrol-once"}
    async with custody.client() as c:
        rs = await asyncio.gather(
            *(c.post("/patients", json=enrollment("MRN-K1"), headers=headers) for _ in range(N))
        )
    assert [r.status_code for r in rs] == [201] * N, [r.text for r in rs]
    assert len({r.content for r in rs}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in rs) == 1
    assert len(await custody.published(PatientEnrolled)) == 1


async def test_concurrent_enrolments_of_one_patient_issue_one_coi(custody: ServiceHarness) -> None:
    async with custody.client() as c:
        rs = await asyncio.gather(
            *(
                c.post("/patients", json=enrollment("MRN-C1"), headers=COORDINATOR_HEADERS)
                for _ in range(N)
            )
        )
    created = [r for r in rs if r.status_code == 201]
    assert len(created) == 1, [r.text for r in rs]
    coi = created[0].json()["coi"]
    for r in rs:
        if r.status_code != 201:
            # Refused as a duplicate (naming the CoI), or lost a race on the CoI sequence.
            assert r.status_code == 409, r.text
            assert r.json().get("coi", coi) == coi
    assert [e.coi for e in await custody.published(PatientEnrolled)] == [coi]


async def test_the_later_of_two_concurrent_claims_is_undone(custody: ServiceHarness) -> None:
    kit = custody.kit
    first_inside = asyncio.Event()
    coi = "CHA1B2C26000077"

    async def effect(pause: bool) -> None:
        claim = idempotency.Claim(scope="POST /x u", key="race", request_hash="h")
        with idempotency.claiming(claim):
            async with kit.uow() as uow:
                ended = JourneyEnded(
                    coi=coi,
                    status="completed",
                    outcome="completed",
                    manufacturing_attempts=1,
                    collection_attempts=1,
                    ended_at=datetime(2026, 12, 1, tzinfo=UTC),
                )
                await uow.publish(ended, subject=coi)
                if pause:
                    first_inside.set()
                    await asyncio.sleep(0.3)  # the other one claims meanwhile
                else:
                    await first_inside.wait()

    results = await asyncio.gather(effect(True), effect(False), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["KeyInUse", "NoneType"], results
    assert len(await custody.published(JourneyEnded)) == 1
