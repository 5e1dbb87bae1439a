"""Seals through a real Kafka, on SQLite and PostgreSQL: `v2v audit verify` names a deleted
stream, swapped identity rows, a store whose newest events were cut, and a restored stale
backup (only the seal outside the database reveals that one), and passes an intact store."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner, Result

from v2v_cli.main import app
from v2v_cli.testing import ProvisionedStack, with_database
from v2v_custody.adapters.db.tables import patient_identity
from v2v_custody.bootstrap import build
from v2v_custody.settings import CustodySettings
from v2v_events.catalog import TopicKind, TopicSpec
from v2v_runtime.clock import SystemClock
from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import upgrade
from v2v_runtime.db.tables import events, outbox, streams
from v2v_runtime.eventstore import EventStore, NewEvent
from v2v_runtime.kafka import KafkaPublisher
from v2v_runtime.provision import ensure_topics
from v2v_runtime.relay import OutboxRelay
from v2v_runtime.seal import Seal, Sealer, StaleStore
from v2v_runtime.seal_external import external_seal_reader, newest_external_seal
from v2v_runtime.testing import COORDINATOR_HEADERS, ServiceHarness

pytestmark = pytest.mark.integration

runner = CliRunner()


async def seals_lane(bootstrap: str) -> str:
    """A compacted seals topic of this test's own (as provisioned for v2v.custody.seals)."""
    topic = f"v2v.it-{uuid.uuid4().hex[:8]}.seals"
    spec = TopicSpec(topic, TopicKind.SEALS, "custody", 1, {"cleanup.policy": "compact"})
    await ensure_topics(bootstrap, [spec])
    return topic


class Custody:
    """Custody on its own database; its seals go to the test's topic through real Kafka."""

    def __init__(self, url: str, bootstrap: str, topic: str) -> None:
        self.url, self.bootstrap, self.topic = url, bootstrap, topic
        settings = CustodySettings(database_url=url, facility_id="A1B2C")
        self.harness = ServiceHarness(build(settings))
        self.sealer = Sealer(
            self.sessions,
            SystemClock(),
            "custody",
            topic,
            external=external_seal_reader(bootstrap, topic, "custody"),
        )
        self._n = 0

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.harness.kit.sessions

    async def enroll(self, count: int = 1) -> list[str]:
        cois = []
        async with self.harness.client() as client:
            for _ in range(count):
                self._n += 1
                r = await client.post(
                    "/patients", json=enrolment(self._n), headers=COORDINATOR_HEADERS
                )
                assert r.status_code == 201, r.text
                cois.append(r.json()["coi"])
        return cois

    async def correct(self, coi: str) -> None:
        async with self.harness.client() as client:
            r = await client.post(
                f"/patients/{coi}/identity-corrections",
                json={
                    "name": f"Corrected Patient {coi[-3:]}",
                    "reason_code": "entry-error",
                    "reason": "spelling",
                },
                headers=COORDINATOR_HEADERS,
            )
        assert r.status_code == 201, r.text

    async def seal_and_publish(self) -> Seal:
        [*_, seal] = await self.sealer.seal_pending()
        async with self.sessions.begin() as s:
            # Only the seals leave this test: custody's events would reach the platform's
            # journey bridge that other tests run on the same Kafka.
            await s.execute(
                update(outbox)
                .where(outbox.c.topic != self.topic, outbox.c.published_at.is_(None))
                .values(published_at=SystemClock().now())
            )
        publisher = KafkaPublisher(self.bootstrap, "it-seals-relay")
        await publisher.start()
        try:
            relay = OutboxRelay(self.sessions, publisher, SystemClock())
            while await relay.run_once():
                pass
        finally:
            await publisher.stop()
        outside = await newest_external_seal(self.bootstrap, self.topic, "custody")
        assert outside == seal
        return seal

    async def verify(self) -> Result:
        args = ["audit", "verify", "--database-url", self.url]
        args += ["--kafka-bootstrap", self.bootstrap, "--seals-topic", self.topic]
        return await asyncio.to_thread(runner.invoke, app, args)

    async def __aenter__(self) -> Custody:
        await self.harness.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.harness.close()


def enrolment(n: int) -> dict[str, object]:
    return {
        "name": f"Patient Number{n} Testperson",
        "birth_date": f"19{60 + n}-03-0{1 + n % 9}",
        # unique per enrolment: one patient is enrolled once at a treatment center
        "medical_record_number": f"MRN-IT-{n:04d}-{uuid.uuid4().hex[:8]}",
        "therapy": "CAR-T",
        "product_code": "S1234",
        "autologous": True,
        "treatment_center": "treatment-center-1",
        "apheresis_center": "apheresis-center-1",
        "manufacturing_site": "manufacturing-site-1",
        "patient_weight_kg": 70,
        # within custody's window whatever day the test runs
        "earliest_collection": (datetime.now(UTC).date() + timedelta(days=2)).isoformat(),
    }


def said(result: Result) -> str:
    return " ".join(result.output.split())  # rich wraps long lines


@pytest.fixture
async def custody_db(db_kind: str, stack: ProvisionedStack, tmp_path: Path) -> str:
    if db_kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/custody.sqlite"
    return await stack.create_database(f"it_seals_{uuid.uuid4().hex[:8]}")


@pytest.mark.requirement("21CFR11.10(a)", "EU-Annex11.7.1")
async def test_an_intact_sealed_store_verifies_against_its_external_seal(
    kafka_bootstrap: str, custody_db: str
) -> None:
    topic = await seals_lane(kafka_bootstrap)
    async with Custody(custody_db, kafka_bootstrap, topic) as custody:
        await custody.enroll(3)
        await custody.seal_and_publish()
        [coi] = await custody.enroll()
        await custody.correct(coi)
        await custody.seal_and_publish()
        await custody.enroll()  # written after the newest seal: fine
        result = await custody.verify()
    assert result.exit_code == 0, result.output
    text = said(result)
    assert f"external seal: #2 from {topic} at {kafka_bootstrap}" in text
    assert "seals: 2 checked, newest #2" in text
    assert "custody check: patient_identity rows against the identity streams: 5" in text
    assert "audit trail intact" in text


@pytest.mark.requirement("21CFR11.10(a)", "EU-PartIV.6.6")
async def test_a_deleted_stream_is_named(kafka_bootstrap: str, custody_db: str) -> None:
    topic = await seals_lane(kafka_bootstrap)
    async with Custody(custody_db, kafka_bootstrap, topic) as custody:
        _, coi, _ = await custody.enroll(3)
        await custody.seal_and_publish()
        async with custody.sessions.begin() as s:
            await s.execute(delete(events).where(events.c.stream_id == coi))
            await s.execute(delete(streams).where(streams.c.stream_id == coi))
        result = await custody.verify()
    assert result.exit_code == 1, result.output
    assert f"stream {coi}: missing since seal #1 (sealed at version 1)" in said(result)
    assert "1 finding(s)" in said(result)


@pytest.mark.requirement("21CFR11.10(a)")
async def test_swapped_identity_rows_are_named(kafka_bootstrap: str, custody_db: str) -> None:
    topic = await seals_lane(kafka_bootstrap)
    async with Custody(custody_db, kafka_bootstrap, topic) as custody:
        first, second = await custody.enroll(2)
        await custody.seal_and_publish()
        async with custody.sessions.begin() as s:
            rows = {r.coi: r._asdict() for r in await s.execute(select(patient_identity))}
            for coi, other in ((first, second), (second, first)):
                pii = ("name", "birth_date", "medical_record_number")
                values = {k: v for k, v in rows[other].items() if k in pii}
                await s.execute(
                    update(patient_identity).where(patient_identity.c.coi == coi).values(**values)
                )
        result = await custody.verify()
    assert result.exit_code == 1, result.output
    text = said(result)
    for coi in (first, second):
        assert f"patient_identity {coi}: row differs from the identity recorded" in text
    assert "Testperson" not in text and "MRN-IT" not in text
    assert "2 finding(s)" in text


@pytest.mark.requirement("21CFR11.10(a)")
async def test_truncating_the_newest_events_names_the_streams_behind(
    kafka_bootstrap: str, custody_db: str
) -> None:
    topic = await seals_lane(kafka_bootstrap)
    async with Custody(custody_db, kafka_bootstrap, topic) as custody:
        first, _ = await custody.enroll(2)
        await custody.seal_and_publish()
        async with custody.sessions() as s:
            cut = int(await s.scalar(select(func.max(events.c.position))) or 0)
        await custody.correct(first)
        [late] = await custody.enroll()
        await custody.seal_and_publish()
        async with custody.sessions.begin() as s:
            # Every event after seal #1 goes, and the heads are set back to match: each
            # chain is whole in itself, as after restoring an earlier point in time.
            await s.execute(delete(events).where(events.c.position > cut))
            await s.execute(
                delete(streams).where(streams.c.stream_id.in_([late, f"identity-{late}"]))
            )
            identity = f"identity-{first}"
            head = (
                await s.execute(select(events.c.hash).where(events.c.stream_id == identity))
            ).scalar_one()
            await s.execute(
                update(streams)
                .where(streams.c.stream_id == identity)
                .values(version=1, head_hash=head)
            )
        result = await custody.verify()
    assert result.exit_code == 1, result.output
    text = said(result)
    assert f"stream identity-{first}: behind seal #2: sealed at version 2, the store has 1" in text
    assert f"stream {late}: missing since seal #2" in text
    assert f"stream identity-{late}: missing since seal #2" in text


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(c)", "EU-Annex11.7.2")
async def test_a_restored_stale_backup_is_behind_the_external_seal(
    kafka_bootstrap: str, custody_db: str, stack: ProvisionedStack, tmp_path: Path
) -> None:
    topic = await seals_lane(kafka_bootstrap)
    async with Custody(custody_db, kafka_bootstrap, topic) as custody:
        await custody.enroll(2)
        await custody.seal_and_publish()
    backup = await take_backup(custody_db, stack, tmp_path)
    async with Custody(custody_db, kafka_bootstrap, topic) as custody:
        await custody.enroll(2)
        await custody.seal_and_publish()
        before = await custody.verify()
    assert before.exit_code == 0, before.output
    await restore(custody_db, backup, stack)
    async with Custody(custody_db, kafka_bootstrap, topic) as restored:
        result = await restored.verify()
        assert result.exit_code == 1, result.output
        assert (
            "store custody: store is behind the external seal (newest in store #1, outside #2): "
            "a restored stale backup or truncated store?"
        ) in said(result)
        # The restored store is consistent in itself, and its relay does not seal it, which
        # would overwrite the evidence on the compacted topic.
        await restored.enroll()
        with pytest.raises(StaleStore, match=r"seal #2 .* is missing from the store"):
            await restored.sealer.seal_once()
        outside = await newest_external_seal(kafka_bootstrap, topic, "custody")
        assert outside is not None and outside.seq == 2
        # Accepting the restored store (docs/operations.md): the external seal is withdrawn
        # with a tombstone, and the store's own chain goes on from its newest seal.
        await produce_tombstone(kafka_bootstrap, topic, b"custody")
        resumed = await restored.seal_and_publish()
        assert (resumed.seq, resumed.prev_hash) == (2, outside.prev_hash)
        after = await restored.verify()
    assert after.exit_code == 0, after.output


async def produce_tombstone(bootstrap: str, topic: str, key: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=key, value=None)
    finally:
        await producer.stop()


async def take_backup(url: str, stack: ProvisionedStack, tmp_path: Path) -> str:
    """A copy of the whole database, as a backup would be (no process has it open)."""
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{path}{suffix}").exists():
                shutil.copy(f"{path}{suffix}", tmp_path / f"backup{suffix}")
        return str(tmp_path / "backup")
    name = url.rsplit("/", 1)[1]
    await admin(stack, f'CREATE DATABASE "{name}_bak" TEMPLATE "{name}"')
    return f"{name}_bak"


async def restore(url: str, backup: str, stack: ProvisionedStack) -> None:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
            if Path(f"{backup}{suffix}").exists():
                shutil.copy(f"{backup}{suffix}", f"{path}{suffix}")
        return
    name = url.rsplit("/", 1)[1]
    await admin(stack, f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin(stack, f'ALTER DATABASE "{backup}" RENAME TO "{name}"')


async def admin(stack: ProvisionedStack, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    assert stack.postgres_base_url is not None
    dsn = with_database(stack.postgres_base_url, "postgres")
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_the_sealer_never_waits_for_a_writer_and_seals_its_stream_next_time(
    kafka_bootstrap: str, stack: ProvisionedStack
) -> None:
    """PostgreSQL (SQLite serialises writers): a stream a writer holds is left to the next
    seal, and the sealer does not block on it."""
    url = await stack.create_database(f"it_sealer_{uuid.uuid4().hex[:8]}")
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    clock = SystemClock()
    sealer = Sealer(sessions, clock, "custody", await seals_lane(kafka_bootstrap))

    async def append(s: AsyncSession, sid: str) -> None:
        store = EventStore(s, clock)
        v = await store.stream_version(sid)
        await store.append(sid, v, [NewEvent(uuid.uuid4().hex, "t", 1, {"v": v + 1}, {})])

    try:
        async with sessions.begin() as s:
            await append(s, "lot-1")
            await append(s, "lot-2")
        first = await sealer.seal_once()
        assert first is not None and [e[0] for e in first.entries] == ["lot-1", "lot-2"]
        async with sessions.begin() as s:  # both move on: both unsealed
            await append(s, "lot-1")
            await append(s, "lot-2")
        async with sessions() as writer:
            await writer.begin()
            await append(writer, "lot-1")  # holds lot-1's head row, not yet committed
            second = await asyncio.wait_for(sealer.seal_once(), timeout=10)
            assert second is not None and [e[:2] for e in second.entries] == [("lot-2", 2)]
            await writer.commit()
        third = await sealer.seal_once()
        assert third is not None and [e[:2] for e in third.entries] == [("lot-1", 3)]
        assert third.prev_hash == second.hash
    finally:
        await engine.dispose()
