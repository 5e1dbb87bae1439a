"""Starting a journey's workflow run: one place for its id, search attributes and reuse policy."""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from .model import (
    SA_COI,
    SA_SITE,
    SA_STAGE,
    SA_STATUS,
    SA_THERAPY,
    JourneyInput,
    JourneySignal,
    JourneyView,
    Stage,
    Status,
    workflow_id,
)
from .workflow import JourneyWorkflow


async def start_journey(
    client: Client,
    inp: JourneyInput,
    *,
    task_queue: str,
    reuse: WorkflowIDReusePolicy,
    signal: tuple[str, JourneySignal] | None = None,
    details: str | None = None,
) -> WorkflowHandle[JourneyWorkflow, JourneyView]:
    """Start ``journey-<CoI>`` (or, with ``signal``, signal it if it runs already).

    ``reuse`` decides what happens when a closed run with that id is still known to
    Temporal: the bridge rejects (a finished journey never restarts by accident); an
    operator's reopening allows it.
    """
    return await client.start_workflow(
        JourneyWorkflow.run,
        inp,
        id=workflow_id(inp.coi),
        task_queue=task_queue,
        id_reuse_policy=reuse,
        start_signal=signal[0] if signal else None,
        start_signal_args=[signal[1]] if signal else [],
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(SA_COI, inp.coi),
                SearchAttributePair(SA_THERAPY, inp.therapy),
                SearchAttributePair(SA_SITE, inp.manufacturing_site),
                SearchAttributePair(SA_STAGE, Stage.ENROLLED.value),
                SearchAttributePair(SA_STATUS, Status.RUNNING.value),
            ]
        ),
        static_summary=f"{inp.therapy} journey of {inp.coi}",
        static_details=details,
    )
