"""One active enrolment per patient and treatment center: a second one is a 409 naming the
existing CoI, until the journey announces its end."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from v2v_custody.adapters.db import identity
from v2v_custody.adapters.db.tables import patient_identity
from v2v_custody.bootstrap import MIGRATIONS, build
from v2v_custody.settings import CustodySettings
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.contracts.journey import JourneyEnded
from v2v_runtime.db.engine import create_engine
from v2v_runtime.db.migrate import alembic_config
from v2v_runtime.db.tables import events
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock

from .support import (
    BIRTH,
    COORDINATOR,
    MRN,
    NAME,
    START,
    TREATMENT,
    Custody,
    assert_problem,
    enrollment,
)


def ended(coi: str, status: str = "completed") -> JourneyEnded:
    return JourneyEnded(
        coi=coi,
        status=status,
        outcome=status,
        manufacturing_attempts=1,
        collection_attempts=1,
        ended_at=START + timedelta(days=30),
    )


async def test_a_second_active_enrolment_is_a_409_naming_the_existing_coi(
    custody: Custody, caplog: pytest.LogCaptureFixture
) -> None:
    coi = await custody.enroll(medical_record_number=MRN)
    with caplog.at_level(logging.INFO):  # (drivers' DEBUG logs echo query parameters)
        r = await custody.post("/patients", enrollment(therapy="TCR", patient_weight_kg=80))
    body = assert_problem(r, 409, "patient-already-enrolled")
    assert body["coi"] == coi and coi in body["detail"]
    assert MRN not in r.text and NAME not in r.text
    for record in caplog.records:
        assert MRN not in record.getMessage() and MRN not in repr(record.__dict__)
    # Nothing of the refused enrolment was kept.
    assert len(await custody.harness.published(PatientEnrolled)) == 1
    async with custody.harness.kit.sessions() as s:
        assert len((await s.execute(select(patient_identity))).all()) == 1


@pytest.mark.requirement("EU-Annex11.6")
async def test_case_and_spacing_of_the_record_number_do_not_make_another_patient(
    custody: Custody,
) -> None:
    coi = await custody.enroll(medical_record_number="MRN-77 4431")
    r = await custody.post("/patients", enrollment(medical_record_number="mrn-774431"))
    assert assert_problem(r, 409, "patient-already-enrolled")["coi"] == coi


async def test_another_treatment_center_or_patient_may_enroll(custody: Custody) -> None:
    first = await custody.enroll(medical_record_number=MRN)
    elsewhere = await custody.enroll(
        medical_record_number=MRN, treatment_center="treatment-center-2"
    )
    other = await custody.enroll(medical_record_number="MRN-OTHER")
    assert len({first, elsewhere, other}) == 3


async def test_enrolment_is_allowed_again_once_the_journey_ended(custody: Custody) -> None:
    first = await custody.enroll(medical_record_number=MRN)
    # An infusion alone does not end the journey: only the journey says so.
    await custody.final_product_at_treatment_center(first, ["BAG-1"])
    thawed = await custody.thawed(first, ["BAG-1"])
    r = await custody.post(
        f"/patients/{first}/infusions",
        {"unit_ids": ["BAG-1"], "infused_at": thawed.isoformat()},
    )
    assert r.status_code == 201, r.text
    assert_problem(await custody.post("/patients", enrollment()), 409, "patient-already-enrolled")

    harness = custody.harness
    assert await harness.deliver(ended(first, "failed"), subject=first, id="end-1") is (
        Outcome.PROCESSED
    )
    view = (await custody.get(f"/patients/{first}")).json()
    assert (view["journey_status"], view["journey_ended_at"]) == ("failed", "2026-12-24T08:00:00Z")
    # Delivered again, or announced again: nothing changes.
    assert await harness.deliver(ended(first), subject=first, id="end-1") is Outcome.DUPLICATE
    assert await harness.deliver(ended(first), subject=first, id="end-2") is Outcome.PROCESSED
    async with harness.kit.sessions() as s:
        types = (
            await s.execute(select(events.c.event_type).where(events.c.stream_id == first))
        ).scalars()
        assert list(types).count("custody.journey.ended") == 1

    second = await custody.enroll(medical_record_number=MRN)
    assert second != first
    r = await custody.post("/patients", enrollment())
    assert assert_problem(r, 409, "patient-already-enrolled")["coi"] == second
    # Both identities are kept; the ended one stays as it was.
    async with harness.kit.sessions() as s:
        rows = (await s.execute(select(patient_identity).order_by(patient_identity.c.coi))).all()
    assert [(r.coi, r.journey_ended_at is None) for r in rows] == [(first, False), (second, True)]


async def test_journey_ended_for_an_unknown_patient_is_dead_lettered(custody: Custody) -> None:
    unknown = "CHA1B2C26999999"
    assert await custody.harness.deliver(ended(unknown), subject=unknown) is (Outcome.DEAD_LETTERED)


async def test_concurrent_enrolments_of_one_patient_issue_one_coi(custody: Custody) -> None:
    rs = await asyncio.gather(*(custody.post("/patients", enrollment()) for _ in range(6)))
    assert sorted(r.status_code for r in rs) == [201] + [409] * 5, [r.text for r in rs]
    [coi] = [r.json()["coi"] for r in rs if r.status_code == 201]
    assert {r.json()["coi"] for r in rs if r.status_code == 409} == {coi}
    assert [e.coi for e in await custody.harness.published(PatientEnrolled)] == [coi]


async def test_the_unique_index_decides_a_race_the_check_did_not_see(
    custody: Custody, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two enrolments that both passed the check: the database keeps one, and the loser
    learns the winner's CoI in its own transaction (the refused insert was a savepoint)."""
    first = await custody.enroll(medical_record_number=MRN)
    real = identity.active_enrolment
    calls = 0

    async def blind_first_look(*args: Any, **kw: Any) -> str | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else await real(*args, **kw)  # the check raced

    monkeypatch.setattr(identity, "active_enrolment", blind_first_look)
    r = await custody.post("/patients", enrollment(medical_record_number=MRN.lower()))
    assert assert_problem(r, 409, "patient-already-enrolled")["coi"] == first
    assert calls == 2
    assert [e.coi for e in await custody.harness.published(PatientEnrolled)] == [first]


@pytest.mark.requirement("EU-Annex11.4.8")
async def test_migration_guards_the_latest_of_enrolments_made_before_the_guard(
    tmp_path: Path,
) -> None:
    url = ServiceHarness.sqlite_url(tmp_path, "legacy")
    cfg = alembic_config(url, [MIGRATIONS])
    engine = create_engine(url)

    def legacy(conn: Connection) -> None:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "custody_0001")
        for n, (mrn, at) in enumerate(
            [(MRN, "2026-01-05"), (MRN.lower(), "2026-03-01"), ("MRN-2", "2026-02-01")], 1
        ):
            coi = f"CHA1B2C26{n:06d}"
            conn.execute(
                text(
                    "INSERT INTO custody_patients (coi, therapy, product_code, autologous, "
                    "treatment_center, apheresis_center, manufacturing_site, patient_weight_kg, "
                    "earliest_collection, status, enrolled_at, enrolled_by, version) VALUES "
                    "(:coi, 'CAR-T', 'S1', 1, :tc, 'ac', 'ms', 70, '2026-01-01', 'enrolled', "
                    ":at, 'u', 1)"
                ),
                {"coi": coi, "tc": TREATMENT, "at": f"{at} 08:00:00.000000"},
            )
            conn.execute(
                text(
                    "INSERT INTO patient_identity (coi, name, birth_date, medical_record_number) "
                    "VALUES (:coi, :name, :birth, :mrn)"
                ),
                {"coi": coi, "name": NAME, "birth": BIRTH, "mrn": mrn},
            )

    async with engine.begin() as conn:
        await conn.run_sync(legacy)
    await engine.dispose()

    settings = CustodySettings(database_url=url, facility_id="A1B2C")
    harness = ServiceHarness(build(settings, clock=StepClock(START), ids=SeqIds()))
    await harness.start()  # upgrades to the newest schema
    try:
        async with harness.kit.sessions() as s:
            keys = dict(
                (await s.execute(select(patient_identity.c.coi, patient_identity.c.mrn_key))).all()
            )
        assert keys == {
            "CHA1B2C26000001": None,  # the older of the two: not guarded
            "CHA1B2C26000002": MRN.upper(),
            "CHA1B2C26000003": "MRN-2",
        }
        async with harness.client() as c:
            r = await c.post("/patients", json=enrollment(), headers=COORDINATOR)
        assert assert_problem(r, 409, "patient-already-enrolled")["coi"] == "CHA1B2C26000002"
    finally:
        await harness.close()
