"""Helpers for the integration tests: child processes, raw Kafka reads, polling."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from v2v_cli.journeys import QA_REVIEWER, SPECIALIST, SUPERVISOR, Driver, Patient, Plan
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import PatientEnrolled

PROCS = Path(__file__).parent / "procs"
T = TypeVar("T")


def enrolled(coi: str) -> PatientEnrolled:
    return PatientEnrolled(
        coi=coi,
        therapy="CAR-T",
        product_code="S1234",
        autologous=True,
        treatment_center="tc-it",
        manufacturing_site="site-it",
        apheresis_center="ac-1",
        patient_weight_kg=70.0,
        earliest_collection=date(2026, 11, 30),
        enrolled_at=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
        actor=Actor(user_id="u-it", role="coordinator"),
    )


async def create_topics(bootstrap: str, *names: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    # A fresh consumer knows no partitions until its metadata includes the topic.
    for _ in range(40):
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.25)
    raise AssertionError(f"topic {topic} has no partitions in the cluster metadata")


async def read_all(bootstrap: str, topic: str, expect: int, timeout: float = 30) -> list[Any]:
    """Every record of ``topic`` from the beginning, waiting for at least ``expect``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        parts = await _partitions(consumer, topic)
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
            if len(records) >= expect and not batch:
                break
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


async def caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """True once the group's committed offsets reach the end of every partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        parts = await _partitions(consumer, topic)
        if not parts:
            return False
        ends = await consumer.end_offsets(parts)
        return all(
            (committed.get(tp).offset if committed.get(tp) else 0) >= end
            for tp, end in ends.items()
        )
    finally:
        await consumer.stop()
        await admin.close()


async def produce_raw(
    bootstrap: str, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


CHANGE_ASSESSMENT = {
    "affected_products": "the product named only",
    "affected_batches": "none in process",
    "affected_documents": "the MBR version named; SOPs named by its steps",
    "risk_level": "medium",
    "risk": "process validated at the sister site",
    "training_needed": "operators and verifiers on the MBR's steps",
    "validation_needed": "aseptic process simulation before the first patient batch",
}


async def approved_mbr_change(
    driver: Driver, qc_url: str, product: str, site: str, version: int
) -> dict[str, Any]:
    """A change control for the MBR version, in QC: raised and assessed by the site's
    supervisor, approved by QA (signed at the provider). Batch makes the version effective
    when it hears of it over Kafka (poll the version). The change control as approved."""
    request = {
        "subject_kind": "mbr",
        "subject_id": product,
        "site": site,
        "version": version,
        "description": f"MBR of {product} at {site}, version {version}",
        "reason": "technology transfer from the sister site",
    }
    raised = await driver._call("POST", f"{qc_url}/change-controls", SUPERVISOR, request)
    cc = f"{qc_url}/change-controls/{raised['change_control_id']}"
    await driver._call("POST", f"{cc}/impact-assessment", SUPERVISOR, CHANGE_ASSESSMENT)
    decided: dict[str, Any] = await driver._signed(f"{cc}/approval", QA_REVIEWER, {})
    return decided


async def made_effective(
    driver: Driver, batch_url: str, qc_url: str, product: str, site: str, version: int = 1
) -> dict[str, Any]:
    """The approved MBR version made effective the only way there is: its change control
    approved in QC (``approved_mbr_change``), which batch acts on over Kafka. The version
    once effective."""
    decided = await approved_mbr_change(driver, qc_url, product, site, version)
    url = f"{batch_url}/mbrs/{product}/{site}/versions/{version}"

    async def current() -> dict[str, Any]:
        found: dict[str, Any] = await driver._call("GET", url, QA_REVIEWER)
        return found

    effective = await eventually(current, lambda v: v["status"] == "effective", timeout=60)
    assert effective["status"] == "effective", effective
    assert effective["change_control_id"] == decided["change_control_id"]
    return effective


async def batch_of_new_patient(
    driver: Driver, batch_url: str, patient: Patient, site: str
) -> dict[str, Any]:
    """A patient of ``patient.product_code`` enrolled and collected, and their batch opened
    at ``site`` over HTTP (by the site's specialist, once batch knows the unit over Kafka)."""
    coi = await driver.enroll(patient)
    collected = await driver.collect(coi, patient, 1)
    opened = {
        "coi": coi,
        "apheresis_unit_id": collected["unit_id"],
        "din": collected["din"],
        "manufacturing_site": site,
        "product_code": patient.product_code,
    }

    async def open_batch() -> dict[str, Any] | None:
        r = await driver.http.post(
            f"{batch_url}/batches", json=opened, headers=await driver.headers(SPECIALIST)
        )
        return r.json() if r.status_code in (200, 201) else None  # until batch knows the unit

    batch = await eventually(open_batch, lambda b: b is not None, timeout=60)
    assert batch is not None, "batch never learnt of the collected unit"
    return batch


async def oos_lot(driver: Driver, patient: Patient) -> tuple[str, int, dict[str, Any]]:
    """``patient`` enrolled (their journey starts), collected and received; their lot made
    with no retained material and its QC panel out of specification: (CoI, attempt, lot)."""
    site = patient.manufacturing_site
    coi = await driver.enroll(patient)
    await driver.collected_and_received(coi, patient, Plan())
    attempt = await driver._current_attempt(coi, site)
    lot = await driver.manufacture(coi, site, attempt, retained=0)
    panel = await driver.test_lot(coi, site, lot["lot_id"], patient.product_code, oos=True)
    assert panel["status"] == "out-of-specification", panel
    return coi, attempt, lot


async def eventually(
    probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], timeout: float = 45
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if ok(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.25)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


@contextmanager
def consumer_process(bootstrap: str, db_url: str, topic: str, group: str, log: Path):  # type: ignore[no-untyped-def]
    """The consumer as its own OS process; stopped (SIGTERM) at the end."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(PROCS / "consumer.py"),
                "--bootstrap",
                bootstrap,
                "--db-url",
                db_url,
                "--topic",
                topic,
                "--group",
                group,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(),
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_relay(bootstrap: str, db_url: str, *, crash: bool) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(PROCS / "relay.py"), "--bootstrap", bootstrap, "--db-url", db_url]
    if crash:
        args.append("--crash-after-publish")
    return subprocess.run(
        args, capture_output=True, text=True, timeout=120, env=_env(), check=False
    )
