"""Reading an MBR-executed batch for the HTTP routes: its site (404 for another site's),
its executed record with the signatures of its stream, and how an act on it is signed."""

from __future__ import annotations

from collections.abc import Sequence

from v2v_runtime.authz import Caller
from v2v_runtime.errors import NotFound
from v2v_runtime.signatures.gate import Signing
from v2v_runtime.signatures.model import Meaning, SignatureRequest
from v2v_runtime.signatures.store import signatures_of
from v2v_runtime.uow import UnitOfWork

from ...application.execution_record import Environment, Signed, execution_view
from ...application.execution_views import ExecutionView
from ...application.perform_step import executed_batch
from ...domain import Batch
from ...domain.mbr_content import MbrContent
from ..db import em_queries, mbr_queries
from .signing import GateSign


async def batch_site(uow: UnitOfWork, caller: Caller, batch_id: str) -> tuple[str, bool]:
    """(site, follows an MBR) of the batch; 404 for one that does not exist or is another
    site's."""
    found = await mbr_queries.batch_site(uow.session, batch_id)
    if found is None or not caller.may_see(found[0]):
        raise NotFound("batch-not-found", f"no batch {batch_id!r}")
    return found


async def executed(
    uow: UnitOfWork, batch_id: str, time_zone: str
) -> tuple[Batch, MbrContent, Signed, Environment]:
    """The batch, its MBR content, the signatures of its stream (by id) and the monitoring
    excursions of the rooms its steps were done in (by step id)."""
    batch, content = await executed_batch(uow, batch_id)
    found = await signatures_of(uow.session, [batch_id], time_zone)
    steps = [
        (step_id, done.performed.room, done.performed.started_at, done.performed.ended_at)
        for step_id, done in batch.performed.items()
    ]
    environment = await em_queries.excursions(uow.session, batch.manufacturing_site, steps)
    return batch, content, {s.signature_id: s for s in found.get(batch_id, [])}, environment


async def execution_of(uow: UnitOfWork, batch_id: str, time_zone: str) -> ExecutionView:
    return execution_view(*await executed(uow, batch_id, time_zone))


async def batch_signing(
    uow: UnitOfWork,
    signing: Signing,
    caller: Caller,
    batch_id: str,
    meaning: Meaning,
    request: SignatureRequest | None,
    roles: Sequence[str],
) -> GateSign:
    """How an act on the batch is signed: by a person of ``roles`` at the batch's site (404
    for a batch of another site), stored in the batch's stream."""
    site, _ = await batch_site(uow, caller, batch_id)
    return GateSign(
        signing,
        uow,
        caller,
        record_id=batch_id,
        meaning=meaning,
        request=request,
        roles=roles,
        site=site,
    )
