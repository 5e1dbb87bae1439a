"""Identity as hash-chained events: recorded at enrolment, corrected with a reason (old values
kept), projected into patient_identity, and checked row by row by `v2v audit verify`."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete, insert, select, update

from v2v_custody.adapters.db.audit import CHECKS, identity_rows_match_streams
from v2v_custody.adapters.db.tables import patient_identity
from v2v_custody.bootstrap import MIGRATIONS
from v2v_custody.domain.identity import IdentityRecord, PatientIdentity, identity_stream
from v2v_runtime.audit import AuditReport, verify
from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import alembic_config, upgrade
from v2v_runtime.db.tables import events
from v2v_runtime.errors import DomainError
from v2v_runtime.testing import ServiceHarness

from .support import BIRTH, MRN, NAME, Custody, assert_problem

TODAY = date(2026, 11, 24)


# --- the domain ---------------------------------------------------------------------------


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9", "EU-PartIV.6.1")
def test_a_correction_needs_a_reason_and_a_change() -> None:
    person = PatientIdentity(NAME, date(1961, 8, 12), MRN)
    record = IdentityRecord.record("CHA1B2C26000001", person, TODAY)
    erika = PatientIdentity("Erika M.", person.birth_date, MRN)
    with pytest.raises(DomainError, match="reason"):
        record.correct(erika, "entry-error", "  ", TODAY)
    with pytest.raises(DomainError, match="reason"):
        record.correct(erika, " ", "typo", TODAY)
    with pytest.raises(DomainError, match="changes nothing"):
        record.correct(person, "entry-error", "typo", TODAY)
    event = record.correct(
        PatientIdentity(NAME, date(1961, 8, 21), MRN),
        "transcription-error",
        "digits swapped",
        TODAY,
    )
    assert (event.old.birth_date, event.new.birth_date) == (date(1961, 8, 12), date(1961, 8, 21))
    assert event.reason_code == "transcription-error"
    assert [(c.field, c.old, c.new) for c in event.changes()] == [
        ("birth_date", "1961-08-12", "1961-08-21")
    ]
    assert record.current.birth_date == date(1961, 8, 21)
    assert [type(e).__name__ for e in record.pending] == ["IdentityRecorded", "IdentityCorrected"]


# --- the API ------------------------------------------------------------------------------


async def identity_events(custody: Custody, coi: str) -> list[tuple[str, dict[str, object]]]:
    async with custody.harness.kit.sessions() as s:
        rows = await s.execute(
            select(events.c.event_type, events.c.payload, events.c.actor)
            .where(events.c.stream_id == identity_stream(coi))
            .order_by(events.c.version)
        )
        return [(r.event_type, {**r.payload, "by": r.actor["user_id"]}) for r in rows]


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9", "EU-PartIV.6.1")
async def test_a_correction_keeps_the_old_values_and_who_why_when(
    custody: Custody, caplog: pytest.LogCaptureFixture
) -> None:
    coi = await custody.enroll()
    caplog.set_level(logging.INFO)
    r = await custody.post(
        f"/patients/{coi}/identity-corrections",
        {
            "medical_record_number": "MRN-77-4431-XQ",
            "reason_code": "transcription-error",
            "reason": "last two characters swapped",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["coi"], body["corrected"], body["version"]) == (
        coi,
        ["medical_record_number"],
        2,
    )
    assert body["corrected_by"] == "u-coordinator" and body["corrected_at"]
    assert (body["reason_code"], body["reason"]) == (
        "transcription-error",
        "last two characters swapped",
    )
    got = (await custody.get(f"/patients/{coi}")).json()
    assert (got["name"], got["medical_record_number"]) == (NAME, "MRN-77-4431-XQ")
    [recorded, corrected, viewed] = await identity_events(custody, coi)
    assert recorded[0] == "custody.identity.recorded"
    assert viewed[0] == "custody.identity.viewed"  # the coordinator's read is on the record
    assert corrected == (
        "custody.identity.corrected",
        {
            "coi": coi,
            "old": {"name": NAME, "birth_date": BIRTH, "medical_record_number": MRN},
            "new": {"name": NAME, "birth_date": BIRTH, "medical_record_number": "MRN-77-4431-XQ"},
            "reason": "last two characters swapped",
            "reason_code": "transcription-error",
            "by": "u-coordinator",
        },
    )
    # Never in the logs, never on Kafka: only PatientEnrolled went to the outbox.
    assert MRN not in caplog.text and "4431" not in caplog.text
    assert "patient identity corrected" in caplog.text
    assert [env.type for _, env in await custody.harness.outbox()] == [
        "org.vein2vein.custody.patient.enrolled"
    ]


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9", "EU-PartIV.6.1")
async def test_bad_corrections_are_problems_and_change_nothing(custody: Custody) -> None:
    coi = await custody.enroll()
    path = f"/patients/{coi}/identity-corrections"
    code = {"reason_code": "entry-error"}
    assert_problem(await custody.post(path, {"name": "Erika M.", **code}), 422, "validation")
    # the reason code is required, and must be one of the configured ones
    missing = assert_problem(
        await custody.post(path, {"name": "Erika M.", "reason": "x"}), 422, "validation"
    )
    assert ["body", "reason_code"] in [e["loc"] for e in missing["errors"]]
    unknown = assert_problem(
        await custody.post(path, {"name": "Erika M.", "reason": "x", "reason_code": "typo"}),
        422,
        "reason-code-unknown",
    )
    assert unknown["field"] == "reason_code"
    assert "transcription-error" in unknown["allowed_codes"] and "other" in unknown["allowed_codes"]
    assert_problem(await custody.post(path, {"name": "Erika M.", "reason": " ", **code}), 422)
    assert_problem(
        await custody.post(path, {"name": NAME, "reason": "x", **code}), 422, "identity-unchanged"
    )
    assert_problem(
        await custody.post(path, {"birth_date": "2030-01-01", "reason": "x", **code}),
        422,
        "birth-date-in-future",
    )
    assert_problem(
        await custody.post(
            "/patients/CHA1B2C26999999/identity-corrections", {"reason": "x", **code}
        ),
        404,
        "patient-not-found",
    )
    assert len(await identity_events(custody, coi)) == 1


# --- the audit check ----------------------------------------------------------------------


async def audit(harness: ServiceHarness) -> AuditReport:
    async with harness.kit.sessions() as s:
        return await verify(s, checks=CHECKS)


async def test_identity_rows_match_their_streams(custody: Custody) -> None:
    first = await custody.enroll()
    await custody.enroll(name="Max Mustermann")
    r = await custody.post(
        f"/patients/{first}/identity-corrections",
        {"name": "Erika Musterfrau", "reason_code": "entry-error", "reason": "x"},
    )
    assert r.status_code == 201
    report = await audit(custody.harness)
    assert report.ok, report.findings
    assert [(c.name, c.checked) for c in report.checks] == [
        ("patient_identity rows against the identity streams", 2)
    ]


@pytest.mark.requirement("21CFR11.10(a)")
async def test_swapped_identity_rows_are_named_without_their_values(custody: Custody) -> None:
    first = await custody.enroll()
    second = await custody.enroll(
        name="Max Mustermann", birth_date="1970-01-02", medical_record_number="MRN-1"
    )
    async with custody.harness.kit.sessions.begin() as s:
        rows = {r.coi: r._asdict() for r in await s.execute(select(patient_identity))}
        for coi, other in ((first, second), (second, first)):
            pii = ("name", "birth_date", "medical_record_number")
            values = {k: v for k, v in rows[other].items() if k in pii}
            await s.execute(
                update(patient_identity).where(patient_identity.c.coi == coi).values(**values)
            )
    report = await audit(custody.harness)
    assert {f.stream_id for f in report.findings} == {first, second}
    for finding in report.findings:
        assert finding.subject == "patient_identity"
        assert "name, birth_date, medical_record_number" in finding.problem
        assert "Mustermann" not in str(finding) and "MRN" not in str(finding)


@pytest.mark.requirement("21CFR11.10(a)")
async def test_deleted_added_and_edited_rows_are_named(custody: Custody) -> None:
    kept, gone = await custody.enroll(), await custody.enroll()
    async with custody.harness.kit.sessions.begin() as s:
        await s.execute(delete(patient_identity).where(patient_identity.c.coi == gone))
        await s.execute(
            update(patient_identity)
            .where(patient_identity.c.coi == kept)
            .values(birth_date=date(1961, 8, 13))
        )
        await s.execute(
            insert(patient_identity).values(
                coi="CHA1B2C26000777",
                name="Nobody",
                birth_date=date(1980, 1, 1),
                medical_record_number="MRN-0",
            )
        )
    problems = {f.stream_id: f.problem for f in (await audit(custody.harness)).findings}
    assert problems[kept].startswith("row differs from the identity recorded at version 1")
    assert "birth_date" in problems[kept] and "name" not in problems[kept]
    assert problems[gone].startswith("row missing")
    assert problems["CHA1B2C26000777"].startswith("row without an identity stream")
    assert len(problems) == 3


@pytest.mark.requirement("21CFR11.10(c)")
async def test_a_rebuild_restores_damaged_identity_rows(custody: Custody) -> None:
    coi = await custody.enroll()
    async with custody.harness.kit.sessions.begin() as s:
        await s.execute(update(patient_identity).values(name="Someone Else"))
    assert not (await audit(custody.harness)).ok
    await custody.harness.kit.rebuild()
    assert (await audit(custody.harness)).ok
    assert (await custody.get(f"/patients/{coi}")).json()["name"] == NAME


@pytest.mark.requirement("EU-Annex11.4.8")
async def test_identity_rows_from_before_are_given_their_streams(tmp_path: Path) -> None:
    url = ServiceHarness.sqlite_url(tmp_path, "old")
    cfg = alembic_config(url, [MIGRATIONS])
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:

            def to_custody_0001(sync_conn: object) -> None:
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, "custody_0001")

            await conn.run_sync(to_custody_0001)
            await conn.execute(
                insert(patient_identity).values(
                    coi="CHA1B2C26000001",
                    name=NAME,
                    birth_date=date(1961, 8, 12),
                    medical_record_number=MRN,
                )
            )
        await upgrade(url, [MIGRATIONS])
        async with session_factory(engine)() as s:
            report = await verify(s, checks=CHECKS)
            result = await identity_rows_match_streams(s)
            [row] = (await s.execute(select(events))).all()
        assert report.ok, report.findings
        assert result.checked == 1
        assert (row.stream_id, row.event_type, row.actor["role"]) == (
            "identity-CHA1B2C26000001",
            "custody.identity.recorded",
            "system",
        )
    finally:
        await engine.dispose()
