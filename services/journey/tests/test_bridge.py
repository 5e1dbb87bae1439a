"""The bridge against a real Temporal dev server (no worker needed: the server accepts
starts and signals on its own)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from v2v_events import REGISTRY, to_kafka
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import LocationKind, PatientEnrolled, UnitKind, UnitReceived
from v2v_events.contracts.qc import ResultRecorded
from v2v_events.registry import Contract
from v2v_journey.bridge import JourneyBridge, Outcome
from v2v_journey.model import SA_COI, SA_STATUS, JourneyPolicy, workflow_id
from v2v_journey.registrations.store import Registrations
from v2v_runtime.inbox import DeadLetters, IncomingRecord
from v2v_runtime.testing import RecordingPublisher

ACTOR = Actor(user_id="u-1", role="coordinator")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def coi() -> str:
    return f"CHA1B2C26{uuid.uuid4().int % 1_000_000:06d}"


def record(msg: Contract, subject: str, msg_id: str | None = None) -> IncomingRecord:
    env = REGISTRY.envelope(
        msg, subject=subject, source="/t", id=msg_id or str(uuid.uuid4()), time=NOW
    )
    rec = to_kafka(env)
    return IncomingRecord("v2v.custody.events", 0, 1, rec.key, rec.value, list(rec.headers))


def enrolled(c: str) -> PatientEnrolled:
    return PatientEnrolled(
        coi=c,
        therapy="CAR-T",
        product_code="S1234",
        autologous=True,
        treatment_center="tc-1",
        apheresis_center="ac-1",
        manufacturing_site="site-1",
        patient_weight_kg=70,
        earliest_collection=date(2026, 12, 1),
        enrolled_at=NOW,
        actor=ACTOR,
    )


def received(c: str) -> UnitReceived:
    return UnitReceived(
        coi=c,
        unit_id="U1",
        unit_kind=UnitKind.APHERESIS,
        location="site-1",
        location_kind=LocationKind.MANUFACTURING_SITE,
        received_at=NOW,
        transfer_id="T1",
        actor=ACTOR,
    )


def bridge(
    env: WorkflowEnvironment, registrations: Registrations
) -> tuple[JourneyBridge, RecordingPublisher]:
    pub = RecordingPublisher()
    queue = f"bridge-test-{uuid.uuid4().hex[:6]}"
    return JourneyBridge(
        env.client,
        DeadLetters("v2v.journey.bridge", pub),
        lambda _: JourneyPolicy(),
        registrations,
        task_queue=queue,
    ), pub


async def test_enrollment_starts_the_journey_once(
    temporal: WorkflowEnvironment, registrations: Registrations
) -> None:
    b, dlq = bridge(temporal, registrations)
    c = coi()
    rec = record(enrolled(c), c, "enr-1")
    assert await b.process(rec) is Outcome.STARTED
    # redelivery (same event) and a second enrollment event: still one run, no error
    assert await b.process(rec) is Outcome.DUPLICATE
    assert await b.process(record(enrolled(c), c, "enr-2")) is Outcome.DUPLICATE
    desc = await temporal.client.get_workflow_handle(workflow_id(c)).describe()
    assert desc.status == WorkflowExecutionStatus.RUNNING
    assert desc.typed_search_attributes.get(SA_COI) == c
    assert desc.typed_search_attributes.get(SA_STATUS) == "running"
    runs = [w async for w in temporal.client.list_workflows(f"WorkflowId = '{workflow_id(c)}'")]
    assert len(runs) == 1
    assert not dlq.sent


async def test_event_is_signalled_under_its_type_name(
    temporal: WorkflowEnvironment, registrations: Registrations
) -> None:
    b, _ = bridge(temporal, registrations)
    c = coi()
    await b.process(record(enrolled(c), c))
    assert await b.process(record(received(c), c, "rcv-1")) is Outcome.SIGNALLED
    history = await temporal.client.get_workflow_handle(workflow_id(c)).fetch_history()
    names = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert names == ["custody.patient.enrolled", "custody.unit.received"]


async def test_event_for_an_unknown_journey_is_dead_lettered(
    temporal: WorkflowEnvironment, registrations: Registrations
) -> None:
    b, dlq = bridge(temporal, registrations)
    c = coi()
    assert await b.process(record(received(c), c)) is Outcome.DEAD_LETTERED
    [(topic, key, _, headers)] = dlq.sent
    assert topic == "v2v.dlq.v2v.journey.bridge"
    assert key == c.encode()
    assert dict(headers)["v2v_dlq_reason"] == b"no_target"


async def test_event_for_a_closed_journey_is_skipped(
    temporal: WorkflowEnvironment, registrations: Registrations
) -> None:
    b, dlq = bridge(temporal, registrations)
    c = coi()
    await b.process(record(enrolled(c), c))
    await temporal.client.get_workflow_handle(workflow_id(c)).terminate("test")
    assert await b.process(record(received(c), c)) is Outcome.CLOSED
    assert not dlq.sent


async def test_unrelated_and_undecodable_records(
    temporal: WorkflowEnvironment, registrations: Registrations
) -> None:
    b, dlq = bridge(temporal, registrations)
    c = coi()
    result = ResultRecorded(
        coi=c,
        panel_id="P",
        lot_id="L",
        test_code="vcn",
        value="1.2",
        within_limit=True,
        recorded_at=NOW,
        actor=ACTOR,
    )
    assert await b.process(record(result, c)) is Outcome.IGNORED
    junk = IncomingRecord("v2v.qc.events", 0, 9, b"k", b"not json", [])
    assert await b.process(junk) is Outcome.DEAD_LETTERED
    assert dict(dlq.sent[0][3])["v2v_dlq_reason"] == b"undecodable"


async def test_poison_with_cloudevents_headers_is_dead_lettered_and_unknown_types_skipped(
    temporal: WorkflowEnvironment, registrations: Registrations
) -> None:
    b, dlq = bridge(temporal, registrations)
    c = coi()
    good = record(enrolled(c), c)
    # CloudEvents headers and content-type JSON, but the body is not JSON
    poison = IncomingRecord(good.topic, 0, 2, good.key, b'{"coi": "CH', good.headers)
    assert await b.process(poison) is Outcome.DEAD_LETTERED
    assert dict(dlq.sent[0][3])["v2v_dlq_reason"] == b"undecodable"
    newer = [
        (k, b"org.vein2vein.custody.newer-thing" if k == "ce_type" else v) for k, v in good.headers
    ]
    assert await b.process(IncomingRecord(good.topic, 0, 3, good.key, good.value, newer)) is (
        Outcome.IGNORED
    )
    assert len(dlq.sent) == 1  # unknown event types are counted and logged, not dead letters
    assert await b.process(good) is Outcome.STARTED


async def test_a_batch_runs_journeys_concurrently_and_each_in_order(
    temporal: WorkflowEnvironment, registrations: Registrations
) -> None:
    b, dlq = bridge(temporal, registrations)
    cois = [coi() for _ in range(8)]
    batch = [r for c in cois for r in (record(enrolled(c), c), record(received(c), c))]
    batch = batch[::2] + batch[1::2]  # all enrolments first, then all receipts: interleaved keys
    outcomes = await b.process_batch(batch)
    assert outcomes == [Outcome.STARTED] * 8 + [Outcome.SIGNALLED] * 8
    for c in cois:
        history = await temporal.client.get_workflow_handle(workflow_id(c)).fetch_history()
        names = [
            e.workflow_execution_signaled_event_attributes.signal_name
            for e in history.events
            if e.HasField("workflow_execution_signaled_event_attributes")
        ]
        assert names == ["custody.patient.enrolled", "custody.unit.received"], c
    assert not dlq.sent
