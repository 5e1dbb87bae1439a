"""Batch's POST operations of the room register and environmental monitoring, each brought
to where it succeeds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from v2v_runtime.testing import ServiceHarness

from .posts_batch import SITE
from .support import ANALYST, NOW, SUPERVISOR, Call, ok

ROOM = "GRADE-B-SUITE-2"


def room() -> dict[str, Any]:
    return {"room_id": ROOM, "name": "Grade B suite 2", "grade": "B", "site": SITE}


def result(sample_id: str = "SP-0417", value: float = 7) -> dict[str, Any]:
    return {
        "room_id": ROOM,
        "sample_type": "settle-plate",
        "sample_id": sample_id,
        "location": "B2-SP-04",
        "sampled_at": (NOW - timedelta(days=3)).isoformat(),
        "occupancy": "in-operation",
        "value": value,
        "unit": "CFU/4 h",
    }


async def register(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call("/rooms", room(), SUPERVISOR)


async def record(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await ok(c, "/rooms", room(), SUPERVISOR)
    return Call("/environment/results", result(), ANALYST)


async def correct(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await ok(c, "/rooms", room(), SUPERVISOR)
    recorded = await ok(c, "/environment/results", result(value=1), ANALYST)
    body = {"value": 8, "unit": "CFU/4 h", "reason": "recount"}
    return Call(f"/environment/results/{recorded['result_id']}/corrections", body, ANALYST)


SCENARIOS = {
    "POST /rooms": register,
    "POST /environment/results": record,
    "POST /environment/results/{result_id}/corrections": correct,
}
