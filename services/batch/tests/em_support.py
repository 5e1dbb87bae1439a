"""The people, rooms and results of the environmental monitoring tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from v2v_runtime.testing import ServiceHarness, StepClock, as_user

from .support import SITE

ANALYST_ID = "u-em-analyst"
ANALYST = as_user(ANALYST_ID, "qc-analyst", sites=[SITE], name="Mia Microbiologist")
SUPERVISOR = as_user("u-em-supervisor", "manufacturing-supervisor", sites=[SITE])
QA = as_user("u-em-qa", "qa-reviewer", sites=[SITE])
PARIS_ANALYST = as_user("u-em-paris", "qc-analyst", sites=["SITE-PARIS-1"])
ROOM = "GRADE-B-1"  # the room mbr_support's steps are done in


def now(harness: ServiceHarness) -> datetime:
    clock = harness.kit.clock
    assert isinstance(clock, StepClock)
    return clock.current


async def register_room(
    client: httpx.AsyncClient, room_id: str = ROOM, grade: str = "B", site: str = SITE
) -> dict[str, Any]:
    body = {"room_id": room_id, "name": f"Room {room_id}", "grade": grade, "site": site}
    r = await client.post("/rooms", json=body, headers=SUPERVISOR)
    assert r.status_code == 201, r.text
    shown: dict[str, Any] = r.json()
    return shown


def result_body(sampled_at: datetime, value: float, sample_id: str, **more: Any) -> dict[str, Any]:
    return {
        "room_id": ROOM,
        "sample_type": "settle-plate",
        "sample_id": sample_id,
        "location": "SP-04 beside the isolator door",
        "sampled_at": sampled_at.isoformat(),
        "occupancy": "in-operation",
        "value": value,
        "unit": "CFU/4 h",
        **more,
    }


async def post_result(
    client: httpx.AsyncClient,
    sampled_at: datetime,
    value: float,
    sample_id: str,
    headers: dict[str, str] = ANALYST,
    **more: Any,
) -> httpx.Response:
    return await client.post(
        "/environment/results",
        json=result_body(sampled_at, value, sample_id, **more),
        headers=headers,
    )


async def recorded(
    client: httpx.AsyncClient, sampled_at: datetime, value: float, sample_id: str, **more: Any
) -> dict[str, Any]:
    r = await post_result(client, sampled_at, value, sample_id, **more)
    assert r.status_code == 201, r.text
    shown: dict[str, Any] = r.json()
    return shown


def ago(harness: ServiceHarness, **delta: float) -> datetime:
    return now(harness) - timedelta(**delta)
