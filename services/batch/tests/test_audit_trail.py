"""Batch's audit trail: a CoI's batches and material; steps with their observed times and
late entries (also in the batch record); scoped to the batches' manufacturing sites."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from v2v_batch.domain import Step
from v2v_runtime.testing import ServiceHarness, StepClock, as_user

from .support import COI, SITE, UNIT, open_batch, post_step, step_body

AUDITOR = as_user("u-auditor", "auditor")
SUPERVISOR = as_user("u-batch-sup", "manufacturing-supervisor", sites=[SITE])
ELSEWHERE = as_user("u-batch-sup2", "manufacturing-supervisor", sites=["SITE-PARIS-1"])


async def trail(c: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[Any]:
    r = await c.get("/audit-trail", params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["verification"]["status"] == "ok"
    entries: list[Any] = r.json()["entries"]
    return entries


def times(ended: datetime) -> dict[str, str]:
    return {
        "started_at": (ended - timedelta(hours=3)).isoformat(),
        "ended_at": ended.isoformat(),
    }


@pytest.mark.requirement("21CFR11.10(e)", "EU-PartIV.6.1")
async def test_a_step_entered_long_after_it_ended_is_late(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    clock = harness.kit.clock
    assert isinstance(clock, StepClock)
    now = clock.now()
    batch_id = await open_batch(harness)
    prompt = step_body(Step.SELECTION, retained_aliquots=0, **times(now - timedelta(minutes=59)))
    r = await post_step(client, batch_id, prompt)
    assert r.status_code == 201 and r.json()["late"] is False, r.text
    late = step_body(Step.ACTIVATION, **times(now - timedelta(minutes=61)))
    r = await post_step(client, batch_id, late)
    assert r.status_code == 201 and r.json()["late"] is True, r.text
    record = (await client.get(f"/batches/{batch_id}")).json()
    assert [s["late"] for s in record["steps"]] == [False, True]

    steps = await trail(client, SUPERVISOR, coi=COI, type="step-recorded")
    assert [(e["values"]["step"], e["late"]) for e in steps] == [
        ("selection", False),
        ("activation", True),
    ]
    assert steps[1]["observed_at"] == steps[1]["values"]["ended_at"]
    assert set(steps[1]["observed"]) == {"started_at", "ended_at"}
    records = {e["record"] for e in await trail(client, AUDITOR, coi=COI)}
    assert records == {batch_id, f"material-{UNIT}"}


@pytest.mark.requirement("21CFR11.10(g)")
async def test_another_sites_supervisor_sees_none_of_it(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await open_batch(harness)
    assert await trail(client, ELSEWHERE, coi=COI) == []
    assert await trail(client, ELSEWHERE) == []
    assert {e["coi"] for e in await trail(client, SUPERVISOR)} == {COI}
