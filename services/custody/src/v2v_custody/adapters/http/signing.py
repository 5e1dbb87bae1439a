"""Custody's signed acts (21 CFR 11.50, 11.70, 11.100, 11.200): who signs what, through the
runtime's signing gate (``v2v_runtime.signatures.gate``).

An act may carry more than one signature: a handoff is signed by both parties on one
tablet — the releasing party in ``signature`` (meaning performed), the receiving party in
``counter_signature`` (meaning received), each re-entering their own user id and password.
Every party is shown the content they sign (428) before anyone is authenticated; each 428
and 409 names the request field it is about (``field``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from v2v_events.contracts.common import Actor
from v2v_runtime.authz import Caller, Forbidden
from v2v_runtime.errors import DomainError
from v2v_runtime.signatures.gate import (
    PendingSignature,
    SignatureRequired,
    SignedContentChanged,
    Signing,
    SigningRefusal,
)
from v2v_runtime.signatures.model import Meaning, SignatureRequest
from v2v_runtime.uow import UnitOfWork

SIGNATURE = "signature"
COUNTER_SIGNATURE = "counter_signature"


@dataclass(frozen=True)
class Party:
    """One signer of an act: the request field carrying their signature, what it means and
    the plain-language statement they sign."""

    field: str
    meaning: Meaning
    statement: str
    request: SignatureRequest | None


@dataclass
class ActSigning:
    """The signatures of one act on one record, collected while the act is checked (the use
    case's ``sign``) and stored after its events (``record``)."""

    uow: UnitOfWork
    signing: Signing
    caller: Caller
    record_id: str
    values: dict[str, Any]
    roles: Sequence[str]
    sites: Sequence[str | None]
    pending: list[PendingSignature] = field(default_factory=list)

    async def sign(self, *parties: Party) -> list[Caller]:
        """The parties, each re-authenticated, in order; 428 while any has not signed."""
        for party in parties:
            if party.request is None:
                await self._authorize(party)  # raises: the content this party signs
        signers = []
        for party in parties:
            pending = await self._authorize(party)
            self.pending.append(pending)
            signers.append(pending.signer)
        return signers

    def by(self, party: Party) -> Callable[[], Awaitable[Actor]]:
        """The use case's ``sign`` of an act one party signs: the signer, as the actor."""

        async def sign() -> Actor:
            [signer] = await self.sign(party)
            return signer.actor

        return sign

    async def record(self) -> set[str]:
        """Store the signatures (after the act's events); their ids."""
        return {(await p.record(self.uow)).signature_id for p in self.pending}

    async def _authorize(self, party: Party) -> PendingSignature:
        try:
            return await self.signing.authorize(
                self.uow,
                self.caller,
                record_id=self.record_id,
                meaning=party.meaning,
                statement=party.statement,
                values=self.values,
                request=party.request,
                roles=self.roles,
                sites=self.sites,
            )
        except (SignatureRequired, SignedContentChanged) as exc:
            raise _about(exc, party.field) from None
        except SigningRefusal as exc:
            if exc.problem is not None:  # recorded by the HTTP layer, answered as this
                exc.problem = _about(exc.problem, party.field)
            raise


def _about(exc: DomainError, field: str) -> DomainError:
    """The same problem, naming the request field of the party it concerns."""
    detail = exc.detail if field == SIGNATURE else f"{exc.detail} (the field: {field})"
    return type(exc)(exc.code, detail, **{**exc.extra, "field": field})


async def sign_handoff(
    act: ActSigning,
    *,
    unit_id: str,
    from_party: str,
    to_party: str,
    location: str,
    signature: SignatureRequest | None,
    counter_signature: SignatureRequest | None,
) -> Caller:
    """Both parties sign the handoff, as two different people; the releasing party acts."""
    releasing, receiving = await act.sign(
        Party(
            SIGNATURE,
            Meaning.PERFORMED,
            f"I hand unit {unit_id} over from {from_party} to {to_party} at {location}.",
            signature,
        ),
        Party(
            COUNTER_SIGNATURE,
            Meaning.RECEIVED,
            f"I take unit {unit_id} over from {from_party} as {to_party} at {location}.",
            counter_signature,
        ),
    )
    if releasing.user_id == receiving.user_id:
        raise Forbidden(
            "handoff-to-self",
            "a handoff is signed by two different people: the releasing and the receiving "
            "party each sign with their own user id and password",
        )
    return releasing
