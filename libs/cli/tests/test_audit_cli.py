"""`v2v audit verify` on SQLite: seals, a plain file path, no store, custody's check chosen
from the store's own schema, and the journey's store at the URL endpoints.json gives. (With
Kafka: tests/integration/test_audit_seals.py.)"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from v2v_cli.audit_store import to_url
from v2v_cli.main import app
from v2v_cli.stack import Stack, StackConfig
from v2v_custody.adapters.db.tables import patient_identity
from v2v_custody.bootstrap import build
from v2v_custody.settings import CustodySettings
from v2v_journey.model import JourneyInput
from v2v_journey.settings import JourneySettings
from v2v_journey.worker import registrations
from v2v_runtime.clock import SystemClock
from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import upgrade
from v2v_runtime.db.tables import events, streams
from v2v_runtime.eventstore import EventStore, NewEvent
from v2v_runtime.seal import Sealer
from v2v_runtime.testing import COORDINATOR_HEADERS, ServiceHarness, StepClock

runner = CliRunner()


def sealed_store(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"

    async def go() -> None:
        await upgrade(url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        async with sessions.begin() as s:
            store = EventStore(s, SystemClock())
            for sid in ("lot-1", "lot-2"):
                await store.append(sid, 0, [NewEvent(f"{sid}-1", "t", 1, {"v": 1}, {})])
        await Sealer(sessions, SystemClock(), "batch", "v2v.batch.seals").seal_once()
        await engine.dispose()

    asyncio.run(go())
    return url


def change(url: str, *statements: object) -> None:
    async def go() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            for st in statements:
                await conn.execute(st)  # type: ignore[call-overload]
        await engine.dispose()

    asyncio.run(go())


def test_a_plain_file_path_is_verified_with_its_seals(tmp_path: Path) -> None:
    sealed_store(tmp_path / "batch.sqlite")
    result = runner.invoke(
        app, ["audit", "verify", "--database-url", str(tmp_path / "batch.sqlite")]
    )
    assert result.exit_code == 0, result.output
    assert "checked 2 events in 2 streams" in result.output
    assert "seals: 1 checked, newest #1" in result.output
    assert "external seal: not compared" in result.output
    assert "audit trail intact" in result.output


@pytest.mark.requirement("21CFR11.10(a)")
def test_a_deleted_stream_is_named(tmp_path: Path) -> None:
    url = sealed_store(tmp_path / "batch.sqlite")
    change(
        url,
        delete(events).where(events.c.stream_id == "lot-2"),
        delete(streams).where(streams.c.stream_id == "lot-2"),
    )
    result = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert result.exit_code == 1, result.output
    assert "stream lot-2: missing since seal #1" in result.output.replace("\n", " ")


def test_no_database_file_is_exit_2_and_nothing_is_created(tmp_path: Path) -> None:
    for given in (str(tmp_path / "nope.sqlite"), f"sqlite+aiosqlite:///{tmp_path}/nope.sqlite"):
        result = runner.invoke(app, ["audit", "verify", "--database-url", given])
        assert result.exit_code == 2, result.output
        assert "nothing was created" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_database_without_an_event_store_is_exit_2(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "other.sqlite") as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    result = runner.invoke(
        app, ["audit", "verify", "--database-url", str(tmp_path / "other.sqlite")]
    )
    assert result.exit_code == 2, result.output
    assert "no event store" in result.output


def custody_store(tmp_path: Path) -> tuple[str, list[str]]:
    settings = CustodySettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "custody"), facility_id="A1B2C"
    )
    clock = StepClock(start=datetime(2026, 11, 24, 8, tzinfo=UTC), tick=timedelta(seconds=1))

    async def go() -> list[str]:
        harness = ServiceHarness(build(settings, clock=clock))
        await harness.start()
        cois = []
        async with harness.client() as client:
            for name, mrn in (("Erika Mustermann", "MRN-A-1"), ("Max Mustermann", "MRN-B-2")):
                r = await client.post(
                    "/patients", json=enrol(name, mrn), headers=COORDINATOR_HEADERS
                )
                assert r.status_code == 201, r.text
                cois.append(r.json()["coi"])
        await harness.close()
        return cois

    return settings.database_url, asyncio.run(go())


def enrol(name: str, mrn: str) -> dict[str, object]:
    return {
        "name": name,
        "birth_date": "1961-08-12",
        "medical_record_number": mrn,
        "therapy": "CAR-T",
        "product_code": "S1234",
        "autologous": True,
        "treatment_center": "treatment-center-1",
        "apheresis_center": "apheresis-center-1",
        "manufacturing_site": "manufacturing-site-1",
        "patient_weight_kg": 70,
        "earliest_collection": "2026-11-30",
    }


@pytest.mark.requirement("21CFR11.10(a)", "EU-Annex11.7.1")
def test_custodys_identity_check_runs_on_custodys_store(tmp_path: Path) -> None:
    url, (first, second) = custody_store(tmp_path)
    ok = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert ok.exit_code == 0, ok.output
    assert "custody check: patient_identity rows against the identity streams: 2" in ok.output

    async def swap() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            rows = {r.coi: r for r in await conn.execute(select(patient_identity))}
            for coi, other in ((first, second), (second, first)):
                await conn.execute(
                    update(patient_identity)
                    .where(patient_identity.c.coi == coi)
                    .values(
                        name=rows[other].name,
                        medical_record_number=rows[other].medical_record_number,
                    )
                )
        await engine.dispose()

    asyncio.run(swap())
    bad = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert bad.exit_code == 1, bad.output
    text = bad.output.replace("\n", " ")
    for coi in (first, second):
        assert f"patient_identity {coi}: row differs" in text
    assert "Mustermann" not in bad.output and "MRN-" not in bad.output


def journey_store(url: str) -> None:
    """The journey's own store (its registrations), as the journey writes it."""
    inp = JourneyInput(
        coi="CHA1B2C26000123",
        therapy="CAR-T",
        product_code="S9DEMO",
        treatment_center="treatment-center-1",
        apheresis_center="apheresis-center-1",
        manufacturing_site="manufacturing-site-1",
        patient_weight_kg=70,
        earliest_collection=date(2026, 11, 30),
    )

    async def go() -> None:
        await upgrade(url)
        store, engine = registrations(JourneySettings(database_url=url))
        assert await store.claim(inp.coi, "enrolment-1", inp)
        await store.started(inp.coi, "run-1")
        await engine.dispose()

    asyncio.run(go())


def test_the_journeys_url_from_endpoints_json_is_verified(tmp_path: Path) -> None:
    endpoints = Stack(StackConfig(data_dir=tmp_path / "v2v")).endpoints(postgres=False)
    url = endpoints["database_urls"]["journey"]
    journey_store(url)
    path = make_url(url).database
    for given in (url, str(path)):
        result = runner.invoke(app, ["audit", "verify", "--database-url", given])
        assert result.exit_code == 0, result.output
        assert "service: journey" in result.output
        assert "checked 2 events in 1 streams" in result.output
        assert "seals: none (journey does not seal its store)" in result.output
        assert "audit trail intact" in result.output
    # Asked to compare with Kafka: the journey publishes no seals, which is said, not an error.
    kafka = runner.invoke(
        app, ["audit", "verify", "--database-url", url, "--kafka-bootstrap", "127.0.0.1:1"]
    )
    assert kafka.exit_code == 0, kafka.output
    assert "external seal: not compared (journey publishes no seals)" in kafka.output


def test_an_empty_database_file_has_no_event_store(tmp_path: Path) -> None:
    (tmp_path / "journey.sqlite").write_bytes(b"")  # what looking used to leave behind
    result = runner.invoke(
        app, ["audit", "verify", "--database-url", str(tmp_path / "journey.sqlite")]
    )
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "this database has no event store" in text
    assert "it is empty" in text
    assert "database_urls in .v2v/endpoints.json" in text


def test_urls_as_people_copy_them_get_the_async_driver(tmp_path: Path) -> None:
    assert to_url("postgresql://auditor@pg:5432/custody") == (
        "postgresql+asyncpg://auditor@pg:5432/custody"
    )
    assert to_url("postgres://pg/qc") == "postgresql+asyncpg://pg/qc"
    sealed_store(tmp_path / "batch.sqlite")
    assert to_url(f"sqlite:///{tmp_path}/batch.sqlite") == (
        f"sqlite+aiosqlite:///{tmp_path}/batch.sqlite"
    )
    assert to_url(str(tmp_path / "batch.sqlite")) == f"sqlite+aiosqlite:///{tmp_path}/batch.sqlite"


def test_rebuild_of_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["rebuild", "custody", "--database-url", str(tmp_path / "custody.sqlite")]
    )
    assert result.exit_code == 2, result.output
    assert "nothing was created" in result.output
    assert list(tmp_path.iterdir()) == []
