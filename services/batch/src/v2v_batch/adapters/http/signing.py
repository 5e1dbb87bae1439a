"""The runtime's signing gate (v2v_runtime.signatures) bound to one act of one request: the
application's ``Sign``. Who may sign what is decided here, with the routes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from v2v_runtime.authz import Caller, Roles
from v2v_runtime.signatures.gate import PendingSignature, Signing
from v2v_runtime.signatures.model import Meaning, SignatureRequest
from v2v_runtime.uow import UnitOfWork

from ...application.ports import Signed

# Who performs a step signs it (the roles that may record it).
PERFORMERS = (Roles.CELL_THERAPY_SPECIALIST, Roles.MANUFACTURING_SUPERVISOR)
# A second person verifies it: a supervisor, or another qualified specialist (specialists
# review batch records too). Never the performer (the domain's separation of duties).
VERIFIERS = (Roles.MANUFACTURING_SUPERVISOR, Roles.CELL_THERAPY_SPECIALIST)


class GateSign:
    """Signs the act through ``gate`` for ``record_id`` (the batch's stream), as a person of
    ``roles`` at ``site``; ``record`` stores the signature once the act's events are saved."""

    def __init__(
        self,
        gate: Signing,
        uow: UnitOfWork,
        caller: Caller,
        *,
        record_id: str,
        meaning: Meaning,
        request: SignatureRequest | None,
        roles: Sequence[str],
        site: str,
    ) -> None:
        self.gate, self.uow, self.caller = gate, uow, caller
        self.record_id, self.meaning, self.request = record_id, meaning, request
        self.roles, self.site = tuple(roles), site
        self.pending: PendingSignature | None = None

    async def __call__(self, statement: str, values: dict[str, Any]) -> Signed:
        self.pending = await self.gate.authorize(
            self.uow,
            self.caller,
            record_id=self.record_id,
            meaning=self.meaning,
            statement=statement,
            values=values,
            request=self.request,
            roles=self.roles,
            sites=(self.site,),
        )
        signer, signature_id = self.pending.signer, self.pending.event.signature_id
        return Signed(actor=signer.actor, who=signer.who, signature_id=signature_id)

    async def record(self) -> None:
        if self.pending is None:
            raise RuntimeError("the act was not signed")
        await self.pending.record(self.uow)
