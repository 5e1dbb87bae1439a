import asyncio
from datetime import UTC, date, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import PatientEnrolled
from v2v_runtime.db.tables import outbox
from v2v_runtime.relay import OutboxRelay
from v2v_runtime.testing import SeqIds
from v2v_runtime.uow import UnitOfWork

from .conftest import FakeClock, FakePublisher


def enrolled(coi: str) -> PatientEnrolled:
    return PatientEnrolled(
        coi=coi,
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


COIS = ["CHA1B2C26000001", "CHA1B2C26000002", "CHA1B2C26000001"]


async def _write(uow_factory) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    for coi in COIS:
        async with uow_factory() as uow:
            env = await uow.publish(enrolled(coi), subject=coi)
            ids.append(env.id)
    return ids


async def test_relay_publishes_in_order_and_marks(
    uow_factory,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    ids = await _write(uow_factory)
    pub = FakePublisher()
    relay = OutboxRelay(sessions, pub, clock)
    assert await relay.backlog() == 3
    assert await relay.run_once() == 3
    assert [dict(h)["ce_id"].decode() for *_, h in pub.sent] == ids
    assert [k.decode() for _, k, _, _ in pub.sent] == COIS
    assert {t for t, *_ in pub.sent} == {"v2v.custody.events"}
    assert await relay.backlog() == 0
    assert await relay.run_once() == 0


@pytest.mark.requirement("EU-Annex11.16")
async def test_failed_publish_keeps_rows(
    uow_factory,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    await _write(uow_factory)
    pub = FakePublisher()
    pub.fail_next = 1
    relay = OutboxRelay(sessions, pub, clock)
    with pytest.raises(ConnectionError):
        await relay.run_once()
    assert await relay.backlog() == 3
    assert await relay.run_once() == 3


@pytest.mark.requirement("EU-Annex11.16")
async def test_crash_between_publish_and_mark_republishes(
    uow_factory,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    await _write(uow_factory)
    pub = FakePublisher()

    class Crashing(OutboxRelay):
        async def mark_published(self, rows):  # type: ignore[no-untyped-def]
            raise SystemExit("killed")

    with pytest.raises(SystemExit):
        await Crashing(sessions, pub, clock).run_once()
    assert await OutboxRelay(sessions, pub, clock).run_once() == 3
    first, second = pub.sent[:3], pub.sent[3:]
    assert [dict(h)["ce_id"] for *_, h in first] == [dict(h)["ce_id"] for *_, h in second]


async def test_trace_context_survives_the_outbox(
    uow_factory,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("POST /patients") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
        async with uow_factory() as uow:
            await uow.publish(enrolled(COIS[0]), subject=COIS[0])
    async with sessions() as s:
        headers = dict((await s.execute(select(outbox.c.headers))).scalar_one())
    assert headers["traceparent"].split("-")[1] == trace_id
    pub = FakePublisher()
    await OutboxRelay(sessions, pub, clock).run_once()
    sent = dict(pub.sent[0][3])
    assert sent["traceparent"].decode().split("-")[1] == trace_id


async def test_relay_records_published_lag_and_backlog(
    uow_factory,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from v2v_runtime import telemetry

    reader = InMemoryMetricReader()
    before = telemetry.instruments()
    telemetry.use_instruments(telemetry.Instruments(MeterProvider([reader]).get_meter("t")))
    try:
        await _write(uow_factory)
        await OutboxRelay(sessions, FakePublisher(), clock, service="custody").run_once()
        data = reader.get_metrics_data()
        assert data is not None
        found = {
            m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
        }
        assert found["v2v.outbox.published"].data.data_points[0].value == 3
        assert found["v2v.outbox.relay_lag"].data.data_points[0].count == 3
        [backlog] = found["v2v.outbox.backlog"].data.data_points
        assert (backlog.value, dict(backlog.attributes or {})) == (0, {"service": "custody"})
    finally:
        telemetry.use_instruments(before)


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """With polling every minute, a row committed through a unit of work still goes out at
    once: the commit wakes the relay in this process."""
    publisher = FakePublisher()
    relay = OutboxRelay(sessions, publisher, clock, poll_interval=60.0)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(0.1)  # the relay found nothing and waits
        async with UnitOfWork(sessions, clock, SeqIds("w"), "/t") as uow:
            await uow.publish(enrolled(COIS[0]), subject=COIS[0])
        for _ in range(100):
            if publisher.sent:
                break
            await asyncio.sleep(0.02)
        assert len(publisher.sent) == 1
    finally:
        stop.set()
        await task
