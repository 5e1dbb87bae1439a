"""Property: whatever arrives on a partition, every valid record applies exactly once and
every malformed one is dead-lettered with its reason (the fast, in-process twin of
tests/integration/test_poison_records.py)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from v2v_events import REGISTRY, to_kafka
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.envelope import MAX_VALUE_BYTES, Envelope
from v2v_events.registry import Contract
from v2v_runtime.inbox import H_DLQ_VALUE_OMITTED, InboxProcessor, IncomingRecord, Outcome
from v2v_runtime.testing import RecordingPublisher
from v2v_runtime.uow import UnitOfWork

from .conftest import effects

COI = "CHA1B2C26000321"
COMMANDS = "v2v.qc.commands"
EVENTS = "v2v.custody.events"
EXAMPLES = int(os.environ.get("V2V_POISON_EXAMPLES", "100"))
Headers = list[tuple[str, bytes | None]]


def _valid(msg_id: str) -> tuple[bytes, bytes, Headers]:
    msg = PatientEnrolled(
        coi=COI,
        therapy="CAR-T",
        product_code="S1",
        autologous=True,
        treatment_center="tc",
        manufacturing_site="s",
        apheresis_center="ac",
        patient_weight_kg=70.0,
        earliest_collection=date(2026, 11, 30),
        enrolled_at=datetime(2026, 11, 1, tzinfo=UTC),
        actor=Actor(user_id="u", role="r"),
    )
    env = REGISTRY.envelope(
        msg, subject=COI, source="/t", id=msg_id, time=datetime(2026, 11, 1, tzinfo=UTC)
    )
    rec = to_kafka(env)
    return rec.key, rec.value, list(rec.headers)


def _set(headers: Headers, name: str, value: bytes | None) -> Headers:
    return [(k, value if k == name else v) for k, v in headers]


Mangle = Callable[[bytes, bytes, Headers], tuple[bytes | None, bytes | None, Headers]]
MALFORMED: dict[str, tuple[Mangle, str]] = {
    "bad-json": (lambda k, v, h: (k, b"{oops", h), "undecodable"),
    "bad-utf8-value": (lambda k, v, h: (k, b'{"a": "\xff"}', h), "undecodable"),
    "bad-utf8-header": (lambda k, v, h: (k, v, _set(h, "ce_time", b"\xff")), "undecodable"),
    "null-header": (lambda k, v, h: (k, v, _set(h, "ce_id", None)), "undecodable"),
    "missing-type": (lambda k, v, h: (k, v, [x for x in h if x[0] != "ce_type"]), "undecodable"),
    "no-value": (lambda k, v, h: (k, None, h), "undecodable"),
    "key-mismatch": (lambda k, v, h: (b"CHZZZZZ26000001", v, h), "undecodable"),
    "bad-time": (lambda k, v, h: (k, v, _set(h, "ce_time", b"yesterday")), "undecodable"),
    "nested": (lambda k, v, h: (k, b"[" * 50_000, h), "undecodable"),
    "oversized": (lambda k, v, h: (k, b" " * (MAX_VALUE_BYTES + 1), h), "undecodable"),
    "wrong-schema": (lambda k, v, h: (k, b'{"coi": []}', h), "invalid"),
    "old-version-unknown": (
        lambda k, v, h: (k, v, _set(h, "ce_schemaversion", b"0")),
        "undecodable",
    ),
    "unknown-command": (
        lambda k, v, h: (k, v, _set(h, "ce_type", b"org.vein2vein.qc.no-such-command")),
        "unknown-type",
    ),
}

_ids = itertools.count()


async def _apply(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
    await uow.session.execute(insert(effects).values(message_id=env.id, coi=COI))


async def _applied(uow_factory: Callable[[], UnitOfWork]) -> dict[str, int]:
    async with uow_factory() as uow:
        rows = await uow.session.execute(
            select(effects.c.message_id, func.count()).group_by(effects.c.message_id)
        )
        return {r[0]: r[1] for r in rows}


@pytest.mark.requirement("EU-Annex11.4.7")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plan=st.lists(
        st.one_of(st.just("valid"), st.just("again"), st.sampled_from(sorted(MALFORMED))),
        min_size=1,
        max_size=15,
    )
)
async def test_valid_records_apply_once_and_poison_is_dead_lettered(
    uow_factory,  # type: ignore[no-untyped-def]
    plan: list[str],
) -> None:
    publisher = RecordingPublisher()
    p = InboxProcessor(
        "v2v.qc.inbox",
        uow_factory,
        {PatientEnrolled: _apply},
        publisher,
        commands_topics={COMMANDS},
        max_attempts=1,
        retry_backoff=0,
    )
    valid: list[str] = []
    expected_dead: dict[int, str] = {}
    for offset, kind in enumerate(plan):
        if kind == "again" and valid:
            key, value, headers = _valid(valid[-1])
            outcome = await p.process(IncomingRecord(COMMANDS, 0, offset, key, value, headers))
            assert outcome is Outcome.DUPLICATE
            continue
        msg_id = f"m-{next(_ids)}"
        k, v, h = _valid(msg_id)
        if kind in MALFORMED:
            mangle, reason = MALFORMED[kind]
            mk, mv, mh = mangle(k, v, h)
            expected_dead[offset] = reason
            outcome = await p.process(IncomingRecord(COMMANDS, 0, offset, mk, mv, mh))
            assert outcome is Outcome.DEAD_LETTERED
        else:
            valid.append(msg_id)
            outcome = await p.process(IncomingRecord(COMMANDS, 0, offset, k, v, h))
            assert outcome is Outcome.PROCESSED
    applied = await _applied(uow_factory)
    assert {i: applied.get(i) for i in valid} == dict.fromkeys(valid, 1)
    dead = {
        int(dict(h)["v2v_dlq_original_offset"]): dict(h)["v2v_dlq_reason"].decode()
        for _, _, _, h in publisher.sent
    }
    assert dead == expected_dead


async def test_an_unknown_event_type_is_skipped_and_counted_not_dead_lettered(
    uow_factory,  # type: ignore[no-untyped-def]
) -> None:
    publisher = RecordingPublisher()
    p = InboxProcessor(
        "v2v.qc.inbox", uow_factory, {}, publisher, commands_topics={COMMANDS}, max_attempts=1
    )
    k, v, h = _valid("m-new-type")
    rec = IncomingRecord(EVENTS, 0, 0, k, v, _set(h, "ce_type", b"org.vein2vein.custody.newer"))
    assert await p.process(rec) is Outcome.IGNORED
    assert publisher.sent == []
    # a known command without a handler here, on our commands topic, is dead-lettered
    known = IncomingRecord(COMMANDS, 0, 1, k, v, h)
    assert await p.process(known) is Outcome.DEAD_LETTERED
    [(_, _, _, headers)] = publisher.sent
    assert dict(headers)["v2v_dlq_reason"] == b"unknown-type"
    assert b"no handler here" in dict(headers)["v2v_dlq_error"]


class _TooLarge(RecordingPublisher):
    """A broker refusing records over a size, as Kafka does (max.message.bytes)."""

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        if len(value) > 1000:
            raise MessageSizeTooLargeError()
        await super().send(topic, key, value, headers)


async def test_a_dead_letter_too_large_for_the_broker_keeps_its_coordinates(
    uow_factory,  # type: ignore[no-untyped-def]
) -> None:
    publisher = _TooLarge()
    p = InboxProcessor("v2v.qc.inbox", uow_factory, {}, publisher, max_attempts=1)
    rec = IncomingRecord("v2v.qc.commands", 2, 41, b"k", b"x" * 5000, [])
    assert await p.process(rec) is Outcome.DEAD_LETTERED
    [(_, _, value, headers)] = publisher.sent
    h = dict(headers)
    assert value == b""
    assert h[H_DLQ_VALUE_OMITTED] == b"5000"
    assert (h["v2v_dlq_original_partition"], h["v2v_dlq_original_offset"]) == (b"2", b"41")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plan=st.lists(
        st.one_of(
            st.just("valid"),
            st.just("again"),
            st.just("handler-fails"),
            st.sampled_from(sorted(MALFORMED)),
        ),
        min_size=1,
        max_size=25,
    ),
    cut=st.integers(min_value=1, max_value=25),
)
async def test_a_batch_applies_its_valid_records_once_and_a_poison_costs_only_itself(
    uow_factory,  # type: ignore[no-untyped-def]
    plan: list[str],
    cut: int,
) -> None:
    """The same property through the batched path (one transaction per batch), including a
    handler that fails on one record: the batch falls back to one by one, the failing record
    is dead-lettered, every other valid record is applied exactly once."""
    publisher = RecordingPublisher()
    poison_ids: set[str] = set()

    async def apply_unless_poison(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        await _apply(uow, env, msg)
        if env.id in poison_ids:
            raise RuntimeError("this one always fails")

    p = InboxProcessor(
        "v2v.qc.inbox",
        uow_factory,
        {PatientEnrolled: apply_unless_poison},
        publisher,
        commands_topics={COMMANDS},
        max_attempts=2,
        retry_backoff=0,
    )
    valid: list[str] = []
    expected_dead: dict[int, str] = {}
    records: list[IncomingRecord] = []
    for offset, kind in enumerate(plan):
        if kind == "again" and valid:
            key, value, headers = _valid(valid[-1])
            records.append(IncomingRecord(COMMANDS, 0, offset, key, value, headers))
            continue
        msg_id = f"m-{next(_ids)}"
        k, v, h = _valid(msg_id)
        if kind in MALFORMED:
            mangle, reason = MALFORMED[kind]
            k2, v2, h2 = mangle(k, v, h)
            expected_dead[offset] = reason
            records.append(IncomingRecord(COMMANDS, 0, offset, k2, v2, h2))
            continue
        if kind == "handler-fails":
            poison_ids.add(msg_id)
            expected_dead[offset] = "handler_failed"
        else:
            valid.append(msg_id)
        records.append(IncomingRecord(COMMANDS, 0, offset, k, v, h))
    for start in range(0, len(records), cut):
        await p.process_batch(records[start : start + cut])
    applied = await _applied(uow_factory)
    assert {i: applied.get(i) for i in valid} == dict.fromkeys(valid, 1)
    assert not poison_ids & set(applied)  # a failed handler's effect is rolled back
    dead = {
        int(dict(h)["v2v_dlq_original_offset"]): dict(h)["v2v_dlq_reason"].decode()
        for _, _, _, h in publisher.sent
    }
    assert dead == expected_dead


async def test_a_batch_is_one_transaction(uow_factory) -> None:  # type: ignore[no-untyped-def]
    """Three records, one commit: the handler sees the earlier records' effects."""
    seen: list[int] = []

    async def count(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        await _apply(uow, env, msg)
        n = await uow.session.scalar(select(func.count()).select_from(effects))
        seen.append(int(n or 0))

    p = InboxProcessor("v2v.qc.inbox", uow_factory, {PatientEnrolled: count}, RecordingPublisher())
    batch = []
    for offset in range(3):
        k, v, h = _valid(f"tx-{offset}-{next(_ids)}")
        batch.append(IncomingRecord(EVENTS, 0, offset, k, v, h))
    assert await p.process_batch(batch) == [Outcome.PROCESSED] * 3
    assert seen == [1, 2, 3]
