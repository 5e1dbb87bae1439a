"""Every POST of every service takes an Idempotency-Key and honours it: walks the four
services' OpenAPI documents, so a new operation is covered (or this test fails)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from v2v_runtime.db.tables import events, idempotency, outbox
from v2v_runtime.testing import ServiceHarness

from .scenarios import SCENARIOS, harness

METHODS = {"post", "put", "patch", "delete"}
HEADER_REF = {"$ref": "#/components/parameters/IdempotencyKey"}


def operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


@pytest.fixture
async def started(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ServiceHarness]:
    h = harness(request.param, tmp_path)
    await h.start()
    yield h
    await h.close()


@pytest.mark.parametrize("started", sorted(SCENARIOS), indirect=True)
def test_every_post_declares_the_header_and_has_a_scenario(started: ServiceHarness) -> None:
    doc = started.kit.http_app(manage_lifecycle=False).openapi()
    ops = operations(doc)
    assert set(ops) == set(SCENARIOS[started.kit.spec.name]), "a POST without a scenario here"
    for name, op in ops.items():
        assert HEADER_REF in op.get("parameters", []), name
    param = doc["components"]["parameters"]["IdempotencyKey"]
    assert (param["name"], param["in"], param["required"]) == ("Idempotency-Key", "header", False)


async def effects(h: ServiceHarness) -> tuple[int, int]:
    """What a request may have changed: stored events and messages queued for Kafka."""
    async with h.kit.sessions() as s:
        stored = (await s.execute(select(func.count()).select_from(events))).scalar_one()
        queued = (await s.execute(select(func.count()).select_from(outbox))).scalar_one()
    return int(stored), int(queued)


async def claims(h: ServiceHarness) -> int:
    async with h.kit.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(idempotency))).scalar_one())


@pytest.mark.parametrize(
    ("started", "operation"),
    [(service, op) for service, ops in sorted(SCENARIOS.items()) for op in ops],
    indirect=["started"],
)
async def test_every_post_honours_the_header(started: ServiceHarness, operation: str) -> None:
    h = started
    async with h.client() as client:
        call = await SCENARIOS[h.kit.spec.name][operation](h, client)
        headers = {**call.headers, "Idempotency-Key": f"key-{operation}"}

        # A request that fails leaves no claim: its key may be used again.
        failed = await client.post(call.path, json=[], headers=headers)
        assert failed.status_code == 422 and await claims(h) == 0

        before = await effects(h)
        first = await client.post(call.path, json=call.body, headers=headers)
        assert first.is_success, first.text
        assert "idempotent-replayed" not in first.headers
        after = await effects(h)
        assert after != before, "the operation should have acted"

        again = await client.post(call.path, json=call.body, headers=headers)
        assert (again.status_code, again.content) == (first.status_code, first.content)
        assert again.headers["idempotent-replayed"] == "true"
        assert await effects(h) == after, "a replay must not act again"

        other = await client.post(call.path, json={**call.body, "x": 1}, headers=headers)
        assert other.status_code == 422
        assert other.json()["type"] == "urn:vein2vein:problem:idempotency-key-reused"
        assert await effects(h) == after and await claims(h) == 1
