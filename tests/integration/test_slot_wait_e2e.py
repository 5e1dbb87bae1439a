"""Capacity on the real stack: manufacturing-site-2 (2 slots a weekday, 28-day horizon) books
20 x 2 = 40 collections from today; the 41st patient's journey does not fail but waits for a
slot, notified, until a coordinator ends it on logistics.

Patients of a product on the default policy (deadlines in days): nothing else moves while
the test looks. No other test books at manufacturing-site-2.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter

from v2v_cli.journeys import COORDINATOR, LOGISTICS, Driver, Endpoints, Patient
from v2v_cli.testing import ProvisionedStack
from v2v_cli.tokens import TokenBroker

from .support import eventually

pytestmark = pytest.mark.integration

SITE = "manufacturing-site-2"
CAPACITY = 20 * 2  # weekdays among the 28 slot days after today x slots a weekday


async def test_the_41st_collection_waits_and_a_coordinator_ends_it(
    platform: Endpoints, stack: ProvisionedStack, tokens: TokenBroker
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    patients = [
        Patient(
            f"Slot Testperson{tag}{i}",
            "1970-01-30",
            f"MRN-S{tag}-{i}",
            product_code="S1234",
            manufacturing_site=SITE,
        )
        for i in range(CAPACITY + 1)
    ]
    driver = Driver(platform, log=lambda _: None)
    try:
        cois = [await driver.enroll(p) for p in patients]
    finally:
        await driver.close()

    planner = await tokens.headers(LOGISTICS)
    async with httpx.AsyncClient(timeout=30) as http:

        async def booked() -> dict[str, list[Any]]:
            found: dict[str, list[Any]] = {}
            for coi in cois:
                r = await http.get(
                    f"{platform.logistics}/bookings", params={"coi": coi}, headers=planner
                )
                found[coi] = [b for b in r.json() if b["kind"] == "collection"]
            return found

        client = await Client.connect(
            stack.temporal_address, data_converter=pydantic_data_converter
        )

        async def waiting() -> list[str]:
            stages = []
            for coi in cois:
                attrs = (
                    await client.get_workflow_handle(f"journey-{coi}").describe()
                ).search_attributes
                if attrs.get("JourneyStage") == ["awaiting-slot"]:
                    stages.append(coi)
            return stages

        found = await eventually(booked, lambda f: sum(map(bool, f.values())) >= CAPACITY, 120)
        assert sum(map(bool, found.values())) == CAPACITY, found
        [coi] = await eventually(waiting, lambda w: len(w) == 1, 60)
        assert found[coi] == []
        capacity = (
            await http.get(
                f"{platform.logistics}/capacity/{SITE}",
                headers=await tokens.headers("administrator"),  # sees every site's capacity
            )
        ).json()
        assert sum(d["capacity"] for d in capacity["days"]) == CAPACITY
        assert sum(d["available"] for d in capacity["days"]) == 0

        handle = client.get_workflow_handle(f"journey-{coi}")
        view = await handle.query("status")
        assert view["status"] == "running" and view["stage"] == "awaiting-slot", view
        assert "no free manufacturing slot at manufacturing-site-2" in str(view["history"])

        body = {"decision": "end-journey", "reason": "no slot in time; physician agrees"}
        coordinator = await tokens.headers(COORDINATOR)
        headers = {**coordinator, "Idempotency-Key": f"end-{coi}"}
        r = await http.post(
            f"{platform.logistics}/collections/{coi}/decision", json=body, headers=headers
        )
        assert r.status_code == 201, r.text
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), 60)
        decided_by = await tokens.subject(COORDINATOR)
        assert f"ended by decision of {decided_by}" in str(failed.value.cause)
        view = await handle.query("status")
        assert (view["status"], view["outcome"]) == ("failed", "ended-by-decision")
        again = await http.post(
            f"{platform.logistics}/collections/{coi}/decision",
            json={"decision": "keep-waiting", "reason": "too late"},
            headers={**coordinator, "Idempotency-Key": f"again-{coi}"},
        )
        assert again.status_code == 409
