"""Enrollment: CoI issue and sequence, PII kept inside custody, identity and validation."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_custody.adapters.db import sequences
from v2v_custody.adapters.db.tables import patient_identity
from v2v_custody.adapters.db.tables import sequences as sequence_table
from v2v_custody.domain.isbt128 import SEQUENCE_MAX
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.ids import COI_PATTERN
from v2v_runtime.db.tables import events, outbox
from v2v_runtime.errors import Conflict
from v2v_runtime.testing import ServiceHarness

from .support import (
    APHERESIS,
    BIRTH,
    MRN,
    NAME,
    SITE,
    TREATMENT,
    Custody,
    assert_problem,
    enrollment,
)


async def test_enrollment_issues_a_coi_and_publishes_patient_enrolled(custody: Custody) -> None:
    r = await custody.post("/patients", enrollment())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["coi"] == "CHA1B2C26000001"
    assert re.fullmatch(COI_PATTERN, body["coi"])
    assert body["therapy"] == "CAR-T"
    assert body["treatment_center"] == TREATMENT
    assert not {"name", "birth_date", "medical_record_number"} & body.keys()
    [enrolled] = await custody.harness.published(PatientEnrolled)
    assert enrolled.coi == body["coi"]
    assert (enrolled.apheresis_center, enrolled.manufacturing_site) == (APHERESIS, SITE)
    assert enrolled.actor.user_id == "u-coordinator"
    [(topic, env)] = await custody.harness.outbox()
    assert topic == "v2v.custody.events"
    assert env.subject == body["coi"]


async def test_coi_sequence_has_no_duplicates(custody: Custody) -> None:
    first = [await custody.enroll() for _ in range(3)]
    assert first == ["CHA1B2C26000001", "CHA1B2C26000002", "CHA1B2C26000003"]
    # Concurrent enrollments: every one gets its own number.
    rs = await asyncio.gather(
        *(custody.post("/patients", enrollment(medical_record_number=f"M-{i}")) for i in range(8))
    )
    cois = [r.json()["coi"] for r in rs]
    assert all(r.status_code == 201 for r in rs)
    assert len(set(cois + first)) == 11
    assert sorted(cois) == [f"CHA1B2C26{n:06d}" for n in range(4, 12)]


async def test_coi_year_comes_from_the_injected_clock(custody: Custody) -> None:
    assert await custody.enroll() == "CHA1B2C26000001"
    custody.clock.current = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    # A new year starts its own sequence.
    assert await custody.enroll() == "CHA1B2C27000001"
    assert await custody.enroll() == "CHA1B2C27000002"


async def test_sequences_are_per_kind_facility_and_year(harness: ServiceHarness) -> None:
    async with harness.kit.uow() as uow:
        got = [
            await sequences.allocate(uow.session, "coi", "A1B2C", 26),
            await sequences.allocate(uow.session, "coi", "A1B2C", 26),
            await sequences.allocate(uow.session, "din", "A1B2C", 26),
            await sequences.allocate(uow.session, "coi", "W0000", 26),
            await sequences.allocate(uow.session, "coi", "A1B2C", 27),
        ]
    assert got == [1, 2, 1, 1, 1]
    # A rolled-back transaction gives its number back.
    try:
        async with harness.kit.uow() as uow:
            assert await sequences.allocate(uow.session, "coi", "A1B2C", 26) == 3
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with harness.kit.uow() as uow:
        assert await sequences.allocate(uow.session, "coi", "A1B2C", 26) == 3


class CounterCreatedMeanwhile:
    """The session of a transaction whose UPDATE found no counter, while a concurrent first
    allocation inserted it and committed at once (PostgreSQL, READ COMMITTED: the UPDATE
    does not see the uncommitted row; the next statement sees it committed)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.raced = False

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        result = await self.session.execute(statement, *args, **kwargs)
        if not self.raced and statement.is_dml and statement.table.name == "custody_sequences":
            self.raced = True
            await self.session.execute(
                insert(sequence_table).values(
                    name="din", facility_id="A1B2C", year=26, last_value=1
                )
            )
        return result


async def test_a_counter_created_by_a_concurrent_first_number_is_not_exhausted(
    harness: ServiceHarness,
) -> None:
    # Found by the chaos run (issue 10): three journeys' first collections of a year at once;
    # one got "no din numbers left" (409 sequence-exhausted) from a counter at 1.
    async with harness.kit.uow() as uow:
        racing: Any = CounterCreatedMeanwhile(uow.session)
        assert await sequences.allocate(racing, "din", "A1B2C", 26) == 2
        assert racing.raced


async def test_a_counter_at_its_maximum_is_exhausted(harness: ServiceHarness) -> None:
    async with harness.kit.uow() as uow:
        await uow.session.execute(
            insert(sequence_table).values(
                name="din", facility_id="A1B2C", year=26, last_value=SEQUENCE_MAX
            )
        )
        with pytest.raises(Conflict) as refused:
            await sequences.allocate(uow.session, "din", "A1B2C", 26)
    assert refused.value.code == "sequence-exhausted"


async def test_pii_never_leaves_custody(custody: Custody) -> None:
    coi = await custody.enroll()
    await custody.collect(coi)
    async with custody.harness.kit.sessions() as s:
        outbox_rows = (await s.execute(select(outbox))).all()
        stored = (await s.execute(select(events))).all()
        identity = (await s.execute(select(patient_identity))).all()
    # enrolled, collected, and the audit-trail head after each (positions and hashes only)
    assert len(outbox_rows) == 4
    # Only the identity stream holds PII (hash-chained inside custody's own store).
    outside_identity = [r for r in stored if r.stream_id != f"identity-{coi}"]
    everything = json.dumps(
        [[r.topic, r.key, r.headers, r.value] for r in outbox_rows]
        + [[r.payload, r.actor, r.event_type] for r in outside_identity]
    )
    for pii in (NAME, "Mustermann", BIRTH, "1961", MRN, "4431"):
        assert pii not in everything
    [recorded] = [r for r in stored if r.stream_id == f"identity-{coi}"]
    assert (recorded.event_type, recorded.payload) == (
        "custody.identity.recorded",
        {"coi": coi, "name": NAME, "birth_date": BIRTH, "medical_record_number": MRN},
    )
    # ... and lives in patient_identity, written in the same transaction.
    assert [
        (r.coi, r.name, r.birth_date.isoformat(), r.medical_record_number) for r in identity
    ] == [(coi, NAME, BIRTH, MRN)]


async def test_get_patient_shows_identity_units_and_dins(custody: Custody) -> None:
    coi = await custody.enroll()
    collected = await custody.collect(coi)
    r = await custody.get(f"/patients/{coi}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["birth_date"], body["medical_record_number"]) == (NAME, BIRTH, MRN)
    assert body["status"] == "collected"
    assert body["dins"] == [collected["din"]]
    assert [u["unit_id"] for u in body["units"]] == [collected["unit_id"]]
    assert body["collections"][0]["din_check"] == collected["din_check"]
    assert body["enrolled_by"] == "u-coordinator"


async def test_unknown_patient_is_a_404_problem(custody: Custody) -> None:
    assert_problem(await custody.get("/patients/CHA1B2C26999999"), 404, "patient-not-found")
    assert_problem(await custody.get("/patients/CHA1B2C26999999/units"), 404, "patient-not-found")


@pytest.mark.requirement("21CFR11.10(d)", "EU-Annex11.12.1")
async def test_without_a_bearer_token_it_is_a_401_problem(client: httpx.AsyncClient) -> None:
    r = await client.post("/patients", json=enrollment())
    body = assert_problem(r, 401)
    assert "Authorization: Bearer" in body["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    # the old identity headers are nobody's identity any more
    headers = {"X-V2V-User": "u", "X-V2V-Role": "treatment-center-coordinator"}
    assert_problem(await client.post("/patients", json=enrollment(), headers=headers), 401)
    assert_problem(await client.get("/patients/CHA1B2C26000001"), 401)


async def test_invalid_enrollment_is_a_422_problem(custody: Custody) -> None:
    for bad in (
        {"product_code": "X1234"},  # cellular therapy codes start with S
        {"patient_weight_kg": 0},
        {"birth_date": "not-a-date"},
        {"name": ""},
        {"unexpected": "field"},
    ):
        body = assert_problem(await custody.post("/patients", enrollment(**bad)), 422, "validation")
        assert body["errors"]
    missing = enrollment()
    del missing["medical_record_number"]
    assert_problem(await custody.post("/patients", missing), 422, "validation")
    # A validation problem never echoes what was sent (it may be patient data).
    r = await custody.post("/patients", enrollment(birth_date=f"{NAME} {MRN}"))
    assert NAME not in r.text and MRN not in r.text
    assert await custody.harness.outbox() == []


async def test_birth_date_in_the_future_is_refused(custody: Custody) -> None:
    r = await custody.post("/patients", enrollment(birth_date="2030-01-01"))
    assert_problem(r, 422, "birth-date-in-future")
    # Nothing was kept, and no number was used up.
    assert await custody.harness.outbox() == []
    assert await custody.enroll() == "CHA1B2C26000001"
