"""An operator reopens a journey that ended: the only way a CoI gets a new run.

Until sign-in and e-signatures exist, the operator's name and the reason are recorded in the
journey's hash-chained store and shown on the new run in the Temporal UI.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from v2v_runtime.errors import Conflict

from ..model import workflow_id
from ..starts import start_journey
from .store import Registrations, operator_actor


async def reopen_journey(
    client: Client,
    registrations: Registrations,
    coi: str,
    *,
    operator: str,
    reason: str,
    task_queue: str,
) -> str:
    """Start a new run of ``journey-<coi>``; returns its run id. Refused while one runs."""
    try:
        desc = await client.get_workflow_handle(workflow_id(coi)).describe()
        if desc.status == WorkflowExecutionStatus.RUNNING:
            raise Conflict("journey-running", f"journey-{coi} is still running: nothing to reopen")
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
    inp = await registrations.reopen(coi, operator, reason)
    handle = await start_journey(
        client,
        inp,
        task_queue=task_queue,
        reuse=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        details=f"Reopened by {operator}: {reason}",
    )
    run_id = handle.result_run_id or ""
    await registrations.started(coi, run_id, operator_actor(operator))
    return run_id
