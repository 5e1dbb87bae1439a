"""Lineage lives on the unit of work: the inbox sets it from the incoming envelope, the HTTP
layer from X-Correlation-Id; saved events and published messages read it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import pytest
from fastapi import APIRouter, Request
from sqlalchemy import select

from v2v_events import REGISTRY, to_kafka
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.envelope import Envelope, from_kafka
from v2v_events.registry import Contract
from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.db.tables import events, outbox
from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.inbox import InboxProcessor, IncomingRecord, Outcome
from v2v_runtime.repository import EventCodec, Persistence
from v2v_runtime.service import ServiceSettings, ServiceSpec, kit_of
from v2v_runtime.testing import RecordingPublisher, SeqIds, ServiceHarness, as_user
from v2v_runtime.uow import UnitOfWork

COI = "CHA1B2C26000777"


class Noted(DomainEvent):
    kind = "thing.noted"
    coi: str


class Thing(Aggregate):
    def apply(self, event: DomainEvent) -> None:
        pass

    def note(self, coi: str) -> None:
        self._record(Noted(coi=coi))


PERSISTENCE = Persistence(EventCodec("test", [Noted]))


def enrolled() -> PatientEnrolled:
    return PatientEnrolled(
        coi=COI,
        therapy="CAR-T",
        product_code="S1",
        autologous=True,
        treatment_center="tc",
        manufacturing_site="s",
        apheresis_center="ac",
        patient_weight_kg=70.0,
        earliest_collection=date(2026, 12, 1),
        enrolled_at=datetime(2026, 11, 1, tzinfo=UTC),
        actor=Actor(user_id="u", role="r"),
    )


async def note_and_publish(uow: UnitOfWork) -> None:
    """A use case that knows nothing of lineage."""
    thing = Thing(f"thing-{uow.ids.new_id()}")
    thing.note(COI)
    await uow.repository(Thing).save(thing, {"user_id": "u", "role": "r"})
    await uow.publish(enrolled(), subject=COI)


async def lineage_rows(
    uow: UnitOfWork,
) -> tuple[set[tuple[str | None, str | None]], list[Envelope]]:
    stored = {
        (r.correlation_id, r.causation_id)
        for r in await uow.session.execute(select(events.c.correlation_id, events.c.causation_id))
    }
    sent = [
        from_kafka(r.key.encode(), r.value.encode(), [(k, v.encode()) for k, v in r.headers])
        for r in await uow.session.execute(select(outbox))
    ]
    return stored, sent


async def test_the_inbox_gives_the_message_lineage_to_what_its_handler_writes(
    sessions,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    ids = SeqIds("x")

    def uow() -> UnitOfWork:
        return UnitOfWork(sessions, clock, ids, "/t", persistence=PERSISTENCE)

    async def handler(u: UnitOfWork, env: Envelope, msg: Contract) -> None:
        await note_and_publish(u)

    p = InboxProcessor("v2v.qc.inbox", uow, {PatientEnrolled: handler}, RecordingPublisher())
    env = REGISTRY.envelope(
        enrolled(),
        subject=COI,
        source="/o",
        id="incoming-1",
        time=clock.now(),
        correlationid="conversation-7",
    )
    rec = to_kafka(env)
    record = IncomingRecord("v2v.qc.commands", 0, 0, rec.key, rec.value, list(rec.headers))
    assert await p.process(record) is Outcome.PROCESSED
    async with uow() as u:
        stored, sent = await lineage_rows(u)
    assert stored == {("conversation-7", "incoming-1")}
    assert [(e.correlationid, e.causationid) for e in sent] == [("conversation-7", "incoming-1")]
    # an automatic reaction: the service itself acted (the causation id leads to why)
    assert [e.actor for e in sent] == ["system:t"]


async def test_an_http_request_names_its_conversation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.post("/things", status_code=201)
    async def post(request: Request) -> dict[str, str]:
        async with kit_of(request.app).uow() as uow:
            await note_and_publish(uow)
        return {"ok": "yes"}

    settings = ServiceSettings(database_url=ServiceHarness.sqlite_url(tmp_path, "t"))
    spec = ServiceSpec("qc", settings, [], [router], {}, persistence=PERSISTENCE)
    h = ServiceHarness(spec)
    await h.start()
    try:
        async with h.client() as c:
            r = await c.post("/things", headers={"X-Correlation-Id": "order-2026-0042"})
            assert r.status_code == 201, r.text
        async with h.kit.uow() as u:
            stored, sent = await lineage_rows(u)
        assert stored == {("order-2026-0042", None)}
        assert [e.correlationid for e in sent] == ["order-2026-0042"]
    finally:
        await h.close()


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9", "EU-Annex11.12.4", "EU-PartIV.6.1")
async def test_what_a_person_causes_carries_them_as_actor(tmp_path) -> None:  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.post("/things", status_code=201)
    async def post(
        request: Request, caller: Annotated[Caller, allowed(Roles.QA_REVIEWER)]
    ) -> dict[str, str]:
        async with kit_of(request.app).uow() as uow:
            await note_and_publish(uow)
        return {"ok": "yes"}

    settings = ServiceSettings(service="qc", database_url=ServiceHarness.sqlite_url(tmp_path, "t"))
    spec = ServiceSpec("qc", settings, [], [router], {}, persistence=PERSISTENCE)
    h = ServiceHarness(spec)
    await h.start()
    try:
        async with h.client() as c:
            r = await c.post("/things", headers=as_user("u-qa-7", Roles.QA_REVIEWER))
            assert r.status_code == 201, r.text
        # the request's caller does not outlive it (ASGI runs in this very task here)
        async with h.kit.uow() as u:
            assert u.actor == "system:qc"
            await note_and_publish(u)
            _, sent = await lineage_rows(u)
        assert [e.actor for e in sent] == ["u-qa-7", "system:qc"]
    finally:
        await h.close()
