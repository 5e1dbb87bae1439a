"""Helpers of the tests of the deviations QC raises from other services' events."""

from __future__ import annotations

from typing import Any

import httpx

from v2v_events.registry import Contract
from v2v_qc.domain.lot import Lot, lot_stream
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness


async def deliver(h: ServiceHarness, msg: Contract, subject: str, id: str) -> None:
    assert await h.deliver(msg, subject=subject, id=id) is Outcome.PROCESSED


async def blocking(h: ServiceHarness, lot_id: str) -> list[str]:
    """The open critical/major deviations holding the lot's release."""
    async with h.kit.uow() as uow:
        lot = await uow.repository(Lot).get(lot_stream(lot_id))
        return lot.blocking_deviations


async def deviations(c: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    r = await c.get("/deviations", params=params)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


def ids(found: list[dict[str, Any]]) -> list[str]:
    return [d["deviation_id"] for d in found]
