"""A workflow round trip on the real Temporal dev server, with the search attributes set."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from .support import eventually

pytestmark = pytest.mark.integration

COI = SearchAttributeKey.for_keyword("CoI")
STAGE = SearchAttributeKey.for_keyword("JourneyStage")
THERAPY = SearchAttributeKey.for_keyword("Therapy")
SITE = SearchAttributeKey.for_keyword("Site")
STATUS = SearchAttributeKey.for_keyword("JourneyStatus")


@activity.defn(name="confirm-stack")
async def confirm(coi: str) -> str:
    return f"confirmed {coi}"


@workflow.defn(name="StackProbe")
class StackProbe:
    @workflow.run
    async def run(self, coi: str) -> str:
        workflow.upsert_search_attributes(
            [STAGE.value_set("probe-done"), STATUS.value_set("completed")]
        )
        return str(
            await workflow.execute_activity(
                confirm, coi, start_to_close_timeout=timedelta(seconds=10)
            )
        )


async def test_workflow_round_trip_with_search_attributes(temporal_address: str) -> None:
    client = await Client.connect(temporal_address)
    coi = f"CHA1B2C26{uuid.uuid4().int % 1_000_000:06d}"
    queue = f"it-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[StackProbe],
        activities=[confirm],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await client.start_workflow(
            StackProbe.run,
            coi,
            id=f"journey-{coi}",
            task_queue=queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(COI, coi),
                    SearchAttributePair(STAGE, "probe"),
                    SearchAttributePair(THERAPY, "CAR-T"),
                    SearchAttributePair(SITE, "site-it"),
                    SearchAttributePair(STATUS, "running"),
                ]
            ),
        )
        assert await handle.result() == f"confirmed {coi}"
    desc = await handle.describe()
    attrs = desc.typed_search_attributes
    assert attrs.get(COI) == coi
    assert attrs.get(STAGE) == "probe-done"
    assert attrs.get(STATUS) == "completed"
    assert attrs.get(THERAPY) == "CAR-T"

    async def listed() -> list[str]:
        return [
            w.id
            async for w in client.list_workflows(f"CoI = '{coi}' AND JourneyStatus = 'completed'")
        ]

    assert await eventually(listed, lambda ids: ids == [f"journey-{coi}"], timeout=20) == [
        f"journey-{coi}"
    ]
