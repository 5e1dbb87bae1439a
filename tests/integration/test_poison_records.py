"""A poison record never costs a valid one: random interleavings of valid and malformed
records on one partition of a real broker, through the real consumer (FastStream
subscriber, our own decoding, the inbox and its dead-letter topic).

After every example: each valid record applied exactly once, each malformed one on the
dead-letter topic with its reason and original offset, and the group's committed offset
past all of them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from v2v_events import REGISTRY, to_kafka
from v2v_events.catalog import dead_letter_topic
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract
from v2v_runtime.clock import SystemClock, UuidGenerator
from v2v_runtime.consumer import make_broker, subscribe
from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import upgrade
from v2v_runtime.inbox import InboxProcessor
from v2v_runtime.kafka import KafkaPublisher
from v2v_runtime.uow import UnitOfWork

from .support import caught_up, create_topics, enrolled, eventually, read_all

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("V2V_IT_POISON_EXAMPLES", "8"))

meta = MetaData()
applied = Table(
    "it_applied",
    meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False),
)


@dataclass
class Lane:
    topic: str
    dlq: str
    group: str
    db_url: str
    bootstrap: str
    producer: AIOKafkaProducer
    coi: str = "CHA1B2C26000777"


async def _apply(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
    assert isinstance(msg, PatientEnrolled)
    await uow.session.execute(insert(applied).values(message_id=env.id))


@pytest.fixture(scope="module")
async def lane(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Lane]:
    tag = uuid.uuid4().hex[:8]
    # A commands topic: unknown types are dead-lettered there, not ignored.
    topic, group = f"v2v.it-{tag}.commands", f"v2v.it-{tag}.inbox"
    await create_topics(kafka_bootstrap, topic, partitions=1)
    await create_topics(kafka_bootstrap, dead_letter_topic(group), partitions=1)
    db_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('poison')}/consumer.sqlite"
    await upgrade(db_url)
    engine = create_engine(db_url)
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    sessions = session_factory(engine)
    dead = KafkaPublisher(kafka_bootstrap, "it-poison-dlq")
    await dead.start()
    processor = InboxProcessor(
        group,
        lambda: UnitOfWork(sessions, SystemClock(), UuidGenerator(), "/vein2vein/it"),
        {PatientEnrolled: _apply},
        dead,
        commands_topics={topic},
        max_attempts=2,
        retry_backoff=0.01,
    )
    broker = make_broker(kafka_bootstrap, "it-poison")
    subscribe(broker, processor, topic)
    await broker.start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        yield Lane(topic, dead_letter_topic(group), group, db_url, kafka_bootstrap, producer)
    finally:
        await producer.stop()
        await broker.stop()
        await dead.stop()
        await engine.dispose()


Headers = list[tuple[str, bytes]]


def _valid(coi: str, msg_id: str) -> tuple[bytes, bytes, Headers]:
    env = REGISTRY.envelope(
        enrolled(coi), subject=coi, source="/it", id=msg_id, time=SystemClock().now()
    )
    rec = to_kafka(env)
    return rec.key, rec.value, list(rec.headers)


def _set(headers: Headers, name: str, value: bytes) -> Headers:
    return [(k, value if k == name else v) for k, v in headers]


# Each malformation: how it mangles a valid record, and the dead-letter reason it earns.
Mangle = Callable[[bytes, bytes, Headers], tuple[bytes, bytes, Headers]]
MALFORMED: dict[str, tuple[Mangle, str]] = {
    "bad-json": (lambda k, v, h: (k, b'{"coi": "CH', h), "undecodable"),
    "bad-utf8-value": (lambda k, v, h: (k, b'{"coi": "\xff\xfe"}', h), "undecodable"),
    "bad-utf8-header": (lambda k, v, h: (k, v, _set(h, "ce_source", b"\xc3\x28")), "undecodable"),
    "no-ce-id": (lambda k, v, h: (k, v, [x for x in h if x[0] != "ce_id"]), "undecodable"),
    "no-headers": (lambda k, v, h: (k, v, []), "undecodable"),
    "wrong-specversion": (lambda k, v, h: (k, v, _set(h, "ce_specversion", b"0.3")), "undecodable"),
    "wrong-content-type": (
        lambda k, v, h: (k, v, _set(h, "content-type", b"text/plain")),
        "undecodable",
    ),
    "not-an-object": (lambda k, v, h: (k, b"[1, 2, 3]", h), "undecodable"),
    "deep-nesting": (lambda k, v, h: (k, b"[" * 100_000 + b"]" * 100_000, h), "undecodable"),
    "wrong-schema": (lambda k, v, h: (k, b'{"coi": 42}', h), "invalid"),
    "oversized": (
        lambda k, v, h: (k, v[:-1] + b', "pad": "' + b"x" * 600_000 + b'"}', h),
        "undecodable",
    ),
    "unknown-type": (
        lambda k, v, h: (k, v, _set(h, "ce_type", b"org.vein2vein.custody.no-such-thing")),
        "unknown-type",
    ),
}

kinds = st.lists(
    st.one_of(st.just("valid"), st.just("duplicate"), st.sampled_from(sorted(MALFORMED))),
    min_size=1,
    max_size=12,
)


async def _applied_ids(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(applied.c.message_id, func.count()).group_by(applied.c.message_id)
            )
            return {r[0]: r[1] for r in rows}
    finally:
        await engine.dispose()


def _dlq_by_offset(records: list[Any], topic: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for r in records:
        h = dict(r.headers)
        if h.get("v2v_dlq_original_topic", b"").decode() == topic:
            out[int(h["v2v_dlq_original_offset"])] = h["v2v_dlq_reason"].decode()
    return out


@pytest.mark.requirement("EU-Annex11.5")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=kinds)
async def test_every_record_applies_once_or_is_dead_lettered(lane: Lane, plan: list[str]) -> None:
    expected_dead: dict[int, str] = {}
    valid_ids: list[str] = []
    for kind in plan:
        if kind == "duplicate" and valid_ids:
            key, value, headers = _valid(lane.coi, valid_ids[-1])
        else:
            msg_id = str(uuid.uuid4())
            key, value, headers = _valid(lane.coi, msg_id)
            if kind in MALFORMED:
                key, value, headers = MALFORMED[kind][0](key, value, headers)
            else:
                valid_ids.append(msg_id)
        meta_ = await lane.producer.send_and_wait(lane.topic, value, key=key, headers=headers)
        if kind in MALFORMED:
            expected_dead[meta_.offset] = MALFORMED[kind][1]

    assert await eventually(lambda: caught_up(lane.bootstrap, lane.group, lane.topic), bool), (
        "the group's committed offset did not move past every record"
    )
    got = await _applied_ids(lane.db_url)
    assert {i: got.get(i, 0) for i in valid_ids} == dict.fromkeys(valid_ids, 1)
    if expected_dead:
        dead = _dlq_by_offset(await read_all(lane.bootstrap, lane.dlq, 1, timeout=10), lane.topic)
        assert {o: dead.get(o) for o in expected_dead} == expected_dead
