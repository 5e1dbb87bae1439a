from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, insert, select

from v2v_events import REGISTRY, to_kafka
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract
from v2v_runtime.db.tables import inbox
from v2v_runtime.inbox import InboxProcessor, IncomingRecord, Outcome
from v2v_runtime.uow import UnitOfWork

from .conftest import FakePublisher, effects

COI = "CHA1B2C26000123"


def record(msg_id: str = "m-1", offset: int = 0) -> IncomingRecord:
    msg = PatientEnrolled(
        coi=COI,
        therapy="CAR-T",
        product_code="S1",
        autologous=True,
        treatment_center="tc",
        manufacturing_site="s",
        apheresis_center="ac-1",
        patient_weight_kg=70.0,
        earliest_collection=date(2026, 11, 30),
        enrolled_at=datetime(2026, 1, 1, tzinfo=UTC),
        actor=Actor(user_id="u", role="r"),
    )
    env = REGISTRY.envelope(
        msg, subject=COI, source="/t", id=msg_id, time=datetime(2026, 1, 1, tzinfo=UTC)
    )
    rec = to_kafka(env)
    return IncomingRecord("v2v.custody.events", 0, offset, rec.key, rec.value, list(rec.headers))


async def project(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
    assert isinstance(msg, PatientEnrolled)
    await uow.session.execute(insert(effects).values(message_id=env.id, coi=msg.coi))


async def count_effects(uow_factory: Callable[[], UnitOfWork]) -> int:
    async with uow_factory() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(effects)) or 0)


def processor(uow_factory, handler=project, attempts=3):  # type: ignore[no-untyped-def]
    return InboxProcessor(
        "v2v.qc.inbox",
        uow_factory,
        {PatientEnrolled: handler},
        FakePublisher(),
        max_attempts=attempts,
        retry_backoff=0,
    )


@pytest.mark.requirement("EU-Annex11.5")
async def test_same_message_twice_has_one_effect(uow_factory) -> None:  # type: ignore[no-untyped-def]
    p = processor(uow_factory)
    assert await p.process(record()) is Outcome.PROCESSED
    assert await p.process(record(offset=7)) is Outcome.DUPLICATE
    assert await count_effects(uow_factory) == 1


@pytest.mark.requirement("EU-Annex11.5", "EU-Annex11.13")
@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda r: IncomingRecord(r.topic, 0, 5, r.key, b"{oops", r.headers), "undecodable"),
        (
            lambda r: IncomingRecord(
                r.topic, 0, 5, r.key, r.value, [h for h in r.headers if h[0] != "ce_id"]
            ),
            "undecodable",
        ),
        (
            lambda r: IncomingRecord(r.topic, 0, 5, r.key, b'{"coi": "not-a-coi"}', r.headers),
            "invalid",
        ),
    ],
)
async def test_poison_goes_to_dead_letter_with_reason_and_original_headers(
    uow_factory,
    mangle,
    reason,  # type: ignore[no-untyped-def]
) -> None:
    p = processor(uow_factory)
    bad = mangle(record())
    assert await p.process(bad) is Outcome.DEAD_LETTERED
    dlq = p.dead_letters.publisher
    [(topic, _key, value, headers)] = dlq.sent
    h = dict(headers)
    assert topic == "v2v.dlq.v2v.qc.inbox"
    assert h["v2v_dlq_reason"] == reason.encode()
    assert h["v2v_dlq_original_offset"] == b"5"
    assert h["ce_type"] == b"org.vein2vein.custody.patient.enrolled"  # original kept
    assert value == bad.value
    assert await count_effects(uow_factory) == 0
    # and the next good message is still processed
    assert await p.process(record("m-2")) is Outcome.PROCESSED


@pytest.mark.requirement("EU-Annex11.13")
async def test_handler_failing_every_time_is_dead_lettered_once_and_remembered(
    uow_factory,  # type: ignore[no-untyped-def]
) -> None:
    calls = 0

    async def broken(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        nonlocal calls
        calls += 1
        await project(uow, env, msg)  # its effect must be rolled back
        raise RuntimeError("LIMS unreachable")

    p = processor(uow_factory, broken, attempts=3)
    assert await p.process(record()) is Outcome.DEAD_LETTERED
    assert calls == 3
    [(_, _, _, headers)] = p.dead_letters.publisher.sent
    h = dict(headers)
    assert h["v2v_dlq_reason"] == b"handler_failed"
    assert h["v2v_dlq_attempts"] == b"3"
    assert b"LIMS unreachable" in h["v2v_dlq_error"]
    assert await count_effects(uow_factory) == 0
    # a redelivery of the same message is skipped, not dead-lettered again
    assert await p.process(record()) is Outcome.DUPLICATE
    async with uow_factory() as uow:
        outcome = await uow.session.scalar(select(inbox.c.outcome))
    assert outcome == "dead_lettered"


@pytest.mark.requirement("EU-Annex11.16")
async def test_transient_failure_is_retried_with_one_effect(uow_factory) -> None:  # type: ignore[no-untyped-def]
    calls = 0

    async def flaky(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        nonlocal calls
        calls += 1
        await project(uow, env, msg)
        if calls == 1:
            raise ConnectionError("blip")

    p = processor(uow_factory, flaky)
    assert await p.process(record()) is Outcome.PROCESSED
    assert calls == 2
    assert await count_effects(uow_factory) == 1


async def test_types_without_a_handler_are_ignored(uow_factory) -> None:  # type: ignore[no-untyped-def]
    p = InboxProcessor("v2v.qc.inbox", uow_factory, {}, FakePublisher())
    assert await p.process(record()) is Outcome.IGNORED


@pytest.mark.requirement("EU-Annex11.16")
async def test_dead_letter_publish_is_retried_until_the_broker_takes_it(
    uow_factory,  # type: ignore[no-untyped-def]
) -> None:
    p = processor(uow_factory)
    p.dead_letters.publisher.fail_next = 2
    bad = IncomingRecord("t", 0, 1, b"k", b"x", [])
    assert await p.process(bad) is Outcome.DEAD_LETTERED
    assert len(p.dead_letters.publisher.sent) == 1  # type: ignore[attr-defined]
