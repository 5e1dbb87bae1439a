"""Opening a batch: from the journey's OpenBatch command, and over HTTP."""

from __future__ import annotations

import httpx
import pytest

from v2v_events.contracts.batch import BatchOpened, MaterialSource
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ACTOR_HEADERS, ServiceHarness

from .support import (
    COI,
    DIN,
    JOURNEY,
    OTHER_COI,
    SITE,
    UNIT,
    assert_problem,
    collect,
    open_cmd,
)

# the person ACTOR_HEADERS signs in as (v2v_runtime.testing)
ACTOR_HEADERS_AS_PERSON = {"user_id": "u-test", "role": "cell-therapy-specialist"}


async def test_open_command_publishes_batch_opened(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await collect(harness)
    outcome = await harness.deliver(open_cmd(), subject=COI, id="cmd-open-1")
    assert outcome is Outcome.PROCESSED
    [opened] = await harness.published(BatchOpened)
    assert opened.coi == COI
    assert opened.apheresis_unit_id == UNIT
    assert opened.manufacturing_site == SITE
    assert opened.source is MaterialSource.FRESH_APHERESIS
    assert opened.attempt == 1
    assert opened.actor == JOURNEY
    [(topic, env)] = [(t, e) for t, e in await harness.outbox() if e.type.endswith("opened")]
    assert topic == "v2v.batch.events"
    assert env.subject == COI
    assert env.causationid == "cmd-open-1"

    r = await client.get("/batches", params={"coi": COI})
    assert r.status_code == 200
    [summary] = r.json()
    assert summary["batch_id"] == opened.batch_id
    assert summary["status"] == "open"
    assert summary["source"] == "fresh-apheresis"
    assert summary["steps_done"] == []
    assert summary["next_step"] == "selection"
    assert summary["lot_id"] is None
    record = (await client.get(f"/batches/{opened.batch_id}")).json()
    assert record["config"]["entry"] == "default"
    assert record["config"]["config_version"] == "test-default-1"
    assert record["opened_by"] == JOURNEY.model_dump()
    assert record["din"] == DIN


async def test_open_is_idempotent_and_republishes(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await collect(harness)
    await harness.deliver(open_cmd(), subject=COI, id="cmd-a")
    # The same command again under another message id (e.g. a reset workflow).
    assert await harness.deliver(open_cmd(), subject=COI, id="cmd-b") is Outcome.PROCESSED
    # A redelivery of the same message is skipped by the inbox.
    assert await harness.deliver(open_cmd(), subject=COI, id="cmd-b") is Outcome.DUPLICATE
    first, again = await harness.published(BatchOpened)
    assert again.batch_id == first.batch_id
    assert again.opened_at == first.opened_at
    assert len((await client.get("/batches", params={"coi": COI})).json()) == 1


async def test_another_attempt_opens_another_batch(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await collect(harness)
    await harness.deliver(open_cmd(1), subject=COI)
    await harness.deliver(open_cmd(2), subject=COI)
    one, two = await harness.published(BatchOpened)
    assert one.batch_id != two.batch_id
    assert (one.attempt, two.attempt) == (1, 2)
    listed = (await client.get("/batches", params={"coi": COI})).json()
    assert [b["attempt"] for b in listed] == [1, 2]


@pytest.mark.requirement("EU-PartIV.9")
async def test_unit_of_another_chain_of_identity_is_refused(harness: ServiceHarness) -> None:
    await collect(harness)
    await harness.deliver(open_cmd(), subject=COI)
    outcome = await harness.deliver(open_cmd(coi=OTHER_COI), subject=OTHER_COI)
    assert outcome is Outcome.DEAD_LETTERED
    assert [o.coi for o in await harness.published(BatchOpened)] == [COI]


def open_body(**overrides: object) -> dict[str, object]:
    return {
        "coi": COI,
        "apheresis_unit_id": UNIT,
        "din": DIN,
        "manufacturing_site": SITE,
        "product_code": "S1234",
    } | overrides


async def test_http_open_with_product_code_then_the_journeys_command(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await collect(harness)
    r = await client.post("/batches", json=open_body(), headers=ACTOR_HEADERS)
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["product_code"] == "S1234"
    assert record["config"] == {
        "entry": "S1234",
        "config_version": "test-S1234-3",
        "lot_shelf_life_days": 180,
        "min_harvest_viability_pct": 80.0,
        "max_bags_per_lot": 4,
        "verified_steps": ["harvest", "cryopreservation"],  # configured: in process order
    }
    assert record["opened_by"] == ACTOR_HEADERS_AS_PERSON

    again = await client.post("/batches", json=open_body(), headers=ACTOR_HEADERS)
    assert again.status_code == 200
    assert again.json()["batch_id"] == record["batch_id"]

    await harness.deliver(open_cmd(), subject=COI)
    opened = await harness.published(BatchOpened)
    assert [o.batch_id for o in opened] == [record["batch_id"]] * 3

    other = await client.post(
        "/batches", json=open_body(manufacturing_site="X"), headers=ACTOR_HEADERS
    )
    assert_problem(other, 409, "batch-already-open")


async def test_http_open_validates_identifiers(client: httpx.AsyncClient) -> None:
    for bad in ({"coi": "CH123"}, {"din": "nope"}, {"product_code": "X1"}, {"attempt": 0}):
        r = await client.post("/batches", json=open_body(**bad), headers=ACTOR_HEADERS)
        assert_problem(r, 422, "validation")


async def test_http_open_refuses_an_attempt_too_large_to_store(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await collect(harness)
    # Found by fuzzing: a huge attempt reached the INTEGER column and answered 500.
    for attempt in (2**31, 2**63, 2**111):
        r = await client.post("/batches", json=open_body(attempt=attempt), headers=ACTOR_HEADERS)
        assert_problem(r, 422, "validation")
    r = await client.post("/batches", json=open_body(attempt=2**31 - 1), headers=ACTOR_HEADERS)
    assert r.status_code == 201, r.text
