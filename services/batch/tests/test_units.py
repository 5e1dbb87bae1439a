"""Batch opens only from units custody has collected, for their chain of identity and DIN
(the issue: a batch opened for an apheresis unit that was never collected, with another
CoI's DIN). Batch learns the units from custody's CollectionRecorded; the journey's command
may arrive first, and is then deferred until the collection decides it."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import select

from v2v_batch.bootstrap import build
from v2v_batch.settings import BatchSettings
from v2v_events.catalog import commands_topic, events_topic
from v2v_events.contracts.batch import BatchOpened
from v2v_events.contracts.custody import CollectionRecorded
from v2v_runtime.db.tables import events
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ACTOR_HEADERS, OVERSIZED_IDENTITIES, ServiceHarness

from .support import (
    COI,
    DIN,
    JOURNEY,
    OTHER_COI,
    SITE,
    UNIT,
    assert_problem,
    collect,
    collection,
    open_cmd,
)

OTHER_DIN = "G123498654399"


def body(**overrides: object) -> dict[str, object]:
    return {"coi": COI, "apheresis_unit_id": UNIT, "din": DIN, "manufacturing_site": SITE} | (
        overrides
    )


def test_batch_subscribes_to_custodys_events() -> None:
    spec = build(BatchSettings())
    assert list(spec.subscribed_topics) == [events_topic("custody"), events_topic("qc")]
    assert CollectionRecorded in spec.handlers
    assert ServiceHarness(spec).kit.topics == [
        commands_topic("batch"),
        events_topic("custody"),
        events_topic("qc"),
    ]


@pytest.mark.requirement("EU-Annex11.6", "EU-PartIV.9")
@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        (
            {"apheresis_unit_id": "APH-NEVER-COLLECTED"},
            "apheresis-unit-unknown",
            "apheresis_unit_id",
        ),
        ({"coi": OTHER_COI}, "apheresis-unit-of-another-coi", "coi"),
        ({"din": OTHER_DIN}, "din-mismatch", "din"),
    ],
)
async def test_http_open_refuses_a_unit_that_is_not_the_one_collected(
    harness: ServiceHarness,
    client: httpx.AsyncClient,
    overrides: dict[str, object],
    code: str,
    field: str,
) -> None:
    await collect(harness)
    r = await client.post("/batches", json=body(**overrides), headers=ACTOR_HEADERS)
    assert assert_problem(r, 422, code)["field"] == field
    assert await harness.published(BatchOpened) == []
    r = await client.post("/batches", json=body(), headers=ACTOR_HEADERS)
    assert r.status_code == 201, r.text


async def test_a_command_before_the_collection_waits_for_it(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    assert await harness.deliver(open_cmd(), subject=COI, id="cmd-open") is Outcome.PROCESSED
    # the same command again (a retried activity) waits once
    assert await harness.deliver(open_cmd(), subject=COI, id="cmd-open-2") is Outcome.PROCESSED
    assert await harness.published(BatchOpened) == []
    assert (await client.get(f"/materials/{UNIT}")).status_code == 404

    await collect(harness)
    [opened] = await harness.published(BatchOpened)
    assert (opened.coi, opened.apheresis_unit_id, opened.attempt) == (COI, UNIT, 1)
    assert opened.actor == JOURNEY  # the journey asked for it
    [env] = [e for _, e in await harness.outbox() if e.type.endswith("batch.opened")]
    assert env.causationid == "cmd-open"  # the answer to the journey's command
    material = (await client.get(f"/materials/{UNIT}")).json()
    assert (material["din"], material["coi"]) == (DIN, COI)
    assert material["collected_at"] is not None
    # a late redelivery of the collection changes nothing
    again = collection()
    assert await harness.deliver(again, subject=COI, id="collected-again") is Outcome.PROCESSED
    assert len(await harness.published(BatchOpened)) == 1


@pytest.mark.requirement("EU-PartIV.9")
async def test_a_waiting_command_for_another_din_is_refused_when_the_collection_arrives(
    harness: ServiceHarness, caplog: pytest.LogCaptureFixture
) -> None:
    cmd = open_cmd().model_copy(update={"din": OTHER_DIN})
    assert await harness.deliver(cmd, subject=COI) is Outcome.PROCESSED
    with caplog.at_level(logging.WARNING, logger="v2v.batch.collection"):
        await collect(harness)
    assert await harness.published(BatchOpened) == []
    assert "deferred open batch refused" in caplog.text
    async with harness.kit.sessions() as s:
        kinds = (
            await s.execute(
                select(events.c.event_type).where(events.c.stream_id == f"material-{UNIT}")
            )
        ).scalars()
        assert list(kinds) == ["batch.open-deferred", "batch.unit-collected", "batch.open-refused"]


@pytest.mark.requirement("EU-PartIV.9")
async def test_a_command_for_a_collected_unit_of_another_coi_is_dead_lettered(
    harness: ServiceHarness,
) -> None:
    await collect(harness)
    outcome = await harness.deliver(open_cmd(coi=OTHER_COI), subject=OTHER_COI)
    assert outcome is Outcome.DEAD_LETTERED
    assert await harness.published(BatchOpened) == []


async def test_step_times_outside_the_window(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await collect(harness)
    batch_id = (await client.post("/batches", json=body(), headers=ACTOR_HEADERS)).json()[
        "batch_id"
    ]
    for at, code in (
        ("2026-08-01T00:00:00Z", "step-too-old"),
        ("9999-12-31T00:00:00Z", "validation"),
        ("1900-01-01T00:00:00Z", "validation"),
    ):
        step = {"step": "selection", "started_at": at, "ended_at": "2026-11-23T00:00:00Z"}
        r = await client.post(f"/batches/{batch_id}/steps", json=step, headers=ACTOR_HEADERS)
        problem = assert_problem(r, 422, code)
        if code != "validation":
            assert problem["field"] == "started_at"


async def test_identities_longer_than_an_actor_are_a_4xx_problem(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await collect(harness)
    for headers in OVERSIZED_IDENTITIES:
        r = await client.post("/batches", json=body(), headers=headers)
        assert r.status_code in (401, 403), r.text  # a token's claims, never a 500
        assert r.headers["content-type"] == "application/problem+json"
    assert await harness.published(BatchOpened) == []
