"""Defence in depth on Kafka: a command is acted on only when its declared source is one of
its allowed senders (the registry's ``senders``: the journey for every command today);
from anyone else it is dead-lettered ``unauthorized-source``, and nothing is applied."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select

from v2v_events import REGISTRY, to_kafka
from v2v_events.catalog import Service, source_of
from v2v_events.contracts.common import Actor
from v2v_events.contracts.qc import OrderPanel
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract, Kind
from v2v_runtime.inbox import InboxProcessor, IncomingRecord, Outcome
from v2v_runtime.testing import RecordingPublisher
from v2v_runtime.uow import UnitOfWork

from .conftest import effects

COI = "CHA1B2C26000321"
COMMANDS = "v2v.qc.commands"


def order(msg_id: str, source: str) -> IncomingRecord:
    cmd = OrderPanel(
        coi=COI,
        lot_id="lot-1",
        product_code="S1234",
        patient_weight_kg=70.0,
        actor=Actor(user_id="system:system-journey", role="system-journey"),
    )
    env = REGISTRY.envelope(
        cmd, subject=COI, source=source, id=msg_id, time=datetime(2026, 11, 1, tzinfo=UTC)
    )
    rec = to_kafka(env)
    return IncomingRecord(COMMANDS, 0, int(msg_id[-1]), rec.key, rec.value, list(rec.headers))


@pytest.mark.requirement("21CFR11.10(h)", "EU-Annex11.5")
async def test_a_command_from_another_source_is_dead_lettered(uow_factory) -> None:  # type: ignore[no-untyped-def]
    async def apply(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        await uow.session.execute(insert(effects).values(message_id=env.id, coi=COI))

    publisher = RecordingPublisher()
    inbox = InboxProcessor(
        "v2v.qc.inbox",
        uow_factory,
        {OrderPanel: apply},
        publisher,
        commands_topics={COMMANDS},
        max_attempts=1,
    )
    for n, source in enumerate(("/vein2vein/custody", "/vein2vein/qc", "/elsewhere")):
        assert await inbox.process(order(f"forged-{n}", source)) is Outcome.DEAD_LETTERED
    reasons = [dict(h)["v2v_dlq_reason"] for _, _, _, h in publisher.sent]
    assert reasons == [b"unauthorized-source"] * 3
    assert b"may not send" in dict(publisher.sent[0][3])["v2v_dlq_error"]
    assert await inbox.process(order("sent-9", source_of(Service.JOURNEY))) is Outcome.PROCESSED
    async with uow_factory() as uow:
        applied = (await uow.session.execute(select(func.count()).select_from(effects))).scalar()
    assert applied == 1  # only the journey's


@pytest.mark.requirement("21CFR11.10(h)")
def test_every_command_names_its_senders_and_only_the_journey_sends_today() -> None:
    commands = [mt for mt in REGISTRY if mt.kind is Kind.COMMAND]
    assert commands
    for mt in commands:
        assert mt.senders == (Service.JOURNEY,), mt.name
        assert mt.sender_sources == {"/vein2vein/journey"}
