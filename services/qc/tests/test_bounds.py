"""QC answers oversized identities with a problem, and its contracts carry bounded values."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from v2v_events.contracts.qc import DeviationOpened, ResultRecorded
from v2v_runtime.testing import OVERSIZED_IDENTITIES, ServiceHarness

from .support import COI, order, order_panel, produced


async def test_identities_longer_than_an_actor_are_a_4xx_problem(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel = await order_panel(harness)
    body = {"coi": COI, "lot_id": "lot-1", "classification": "minor", "source": "s"}
    for headers in OVERSIZED_IDENTITIES:
        r = await client.post(
            f"/panels/{panel}/results", json={"test_code": "x", "value": 1}, headers=headers
        )
        assert r.status_code in (401, 403), r.text  # a token's claims, never a 500
        r = await client.post("/deviations", json=body | {"description": "d"}, headers=headers)
        assert r.status_code in (401, 403), r.text
    assert await harness.published(ResultRecorded) == []
    assert await harness.published(DeviationOpened) == []


@pytest.mark.requirement("EU-Annex11.4.7")
def test_order_panel_weight_and_lot_ids_are_bounded() -> None:
    order("lot-1").model_validate(order("lot-1").model_dump() | {"patient_weight_kg": 400})
    with pytest.raises(ValidationError, match="patient_weight_kg"):
        order("lot-1").model_validate(order("lot-1").model_dump() | {"patient_weight_kg": 401})
    with pytest.raises(ValidationError, match="lot_id"):
        produced("x" * 129)
