"""Signing a GMP act inside its unit of work: show the content (428), check it is what the
signer saw (409), re-authenticate the signer at the provider (403 and recorded when that
fails), then — after the act is saved — store the signature in the record's stream.

    pending = await signing.authorize(uow, caller, record_id=..., meaning=..., ...)
    ... the use case acts as ``pending.signer`` ...
    await pending.record(uow)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import rfc8785
from sqlalchemy import func, select

from ..auth.errors import AuthError
from ..auth.verifier import TokenVerifier
from ..authz import Caller
from ..clock import Clock, IdGenerator
from ..db.tables import signatures, streams
from ..domain import DomainEvent
from ..errors import Conflict, DomainError
from ..eventstore import NewEvent
from ..hashchain import GENESIS
from ..uow import UnitOfWork
from .model import (
    RUNTIME_PREFIX,
    Authentication,
    Meaning,
    SecurityNotified,
    SignatureRecorded,
    SignatureRequest,
    Signer,
    SigningRefused,
    content_hash,
    refusals_stream,
    signed_content,
)
from .notify import SecurityNotifier
from .reauth import BadCredentials, Reauthenticator
from .settings import SigningSettings
from .store import project_signature

TWO: tuple[str, ...] = ("user-id", "password")
ONE: tuple[str, ...] = ("password",)


class SignatureRequired(DomainError):
    status = 428
    title = "Signature required"


class SignedContentChanged(Conflict):
    pass


class SigningFailed(DomainError):
    status = 403
    title = "Signature not accepted"


class SigningRefusal(Exception):
    """A signing refused: raised out of the act's transaction, recorded by the HTTP layer
    once it has rolled back (``Signing.record_refusal``). ``problem``: what to answer other
    than 403 signature-authentication-failed — such a refusal (content changed since shown)
    is recorded but not counted as a failed authentication."""

    def __init__(
        self,
        caller: Caller,
        username: str,
        record_id: str,
        meaning: Meaning,
        reason: str,
        problem: DomainError | None = None,
    ) -> None:
        super().__init__(reason)
        self.caller, self.username, self.record_id = caller, username, record_id
        self.meaning, self.reason, self.problem = meaning, reason, problem


@dataclass
class PendingSignature:
    """Authenticated and checked; ``record`` stores it after the act."""

    signer: Caller
    event: SignatureRecorded

    async def record(self, uow: UnitOfWork) -> SignatureRecorded:
        """Append the signature to its record's stream (after the act's events: the record's
        version is read now) and show it in the read models."""
        ev = self.event
        version = await _head(uow, ev.record_id)
        new = _stored_as(uow, ev, self.signer.who)
        [stored] = await uow.events.append(ev.record_id, version[0], [new])
        await project_signature(uow.session, stored, ev)
        return ev


@dataclass
class Signing:
    settings: SigningSettings
    reauth: Reauthenticator
    verifier: TokenVerifier
    notifier: SecurityNotifier
    new_uow: Callable[[], UnitOfWork]
    clock: Clock
    ids: IdGenerator

    async def authorize(
        self,
        uow: UnitOfWork,
        caller: Caller,
        *,
        record_id: str,
        meaning: Meaning,
        statement: str,
        values: dict[str, Any],
        request: SignatureRequest | None,
        roles: Sequence[str],
        sites: Sequence[str | None] = (),
    ) -> PendingSignature:
        """The signer of this act, or a problem: 428 with the content to sign when there is no
        signature yet, 409 when the record moved since it was shown, 403 (recorded) when the
        components do not authenticate, 403 when the signer may not do this act."""
        version, head_hash = await _head(uow, record_id)
        content = signed_content(
            record_id=record_id,
            record_version=version,
            record_hash=head_hash,
            meaning=meaning,
            statement=statement,
            values=values,
        )
        try:
            digest = content_hash(content)
        except rfc8785.CanonicalizationError:
            raise DomainError(
                "content-not-signable",
                "the values of this act cannot be signed: a number in them has no exact JSON "
                "form (RFC 8785: an integer beyond +-(2**53 - 1), or not finite)",
            ) from None
        if request is None:
            raise SignatureRequired(
                "signature-required",
                f"this act is signed ({meaning.value}): show the content, then send it again "
                "with signature {content_hash, username, password}",
                meaning=meaning.value,
                content=content,
                content_hash=digest,
            )
        if request.content_hash != digest:
            changed = SignedContentChanged(
                "signed-content-changed",
                "the record changed since it was shown to the signer (or other values were "
                "sent): nothing was signed; show the new content and sign again",
                content=content,
                content_hash=digest,
            )
            who = request.username or caller.principal.username
            reason = "the content signed is not the record's now (hash differs)"
            raise SigningRefusal(caller, who, record_id, meaning, reason, changed)
        signer, components = await self._authenticate(uow, caller, request, record_id, meaning)
        role = next((r for r in roles if r in signer.roles), None)
        if role is None or signer.machine:
            raise SigningFailed(
                "signer-not-allowed",
                f"{signer.username!r} may not sign this ({meaning.value}): it needs one of "
                f"the roles {', '.join(roles)}",
                allowed_roles=list(roles),
            )
        acting = Caller(signer, role)
        if sites and not acting.may_see(*sites):
            raise SigningFailed(
                "signer-not-allowed", f"{signer.username!r} signs for other sites than this"
            )
        now = self.clock.now()
        event = SignatureRecorded(
            signature_id=self.ids.new_id(),
            record_id=record_id,
            meaning=meaning,
            content=content,
            content_hash=digest,
            signer=Signer(
                user_id=acting.user_id,
                name=signer.name or signer.username,
                username=signer.username,
                role=role,
            ),
            signed_at=now,
            authentication=Authentication(
                method="password-grant",
                components=components,
                authenticated_at=signer.authenticated_at,
                token_id=signer.token_id,
                session_id=caller.principal.session_id,
                session_user_id=caller.user_id,
            ),
        )
        return PendingSignature(acting, event)

    async def _authenticate(
        self,
        uow: UnitOfWork,
        caller: Caller,
        request: SignatureRequest,
        record_id: str,
        meaning: Meaning,
    ) -> tuple[Any, tuple[str, ...]]:
        password = request.password.get_secret_value()
        if request.username is not None:
            username, components = request.username, TWO
        else:
            username, components = caller.principal.username, ONE
            reason = await self._one_component_refusal(uow, caller)
            if reason is not None:
                raise SigningRefusal(caller, username, record_id, meaning, reason)
        try:
            signer = await self.verifier.verify(await self.reauth.token(username, password))
        except BadCredentials:
            raise SigningRefusal(
                caller, username, record_id, meaning, "wrong user id or password"
            ) from None
        except AuthError as exc:
            if exc.status >= 500:
                raise
            raise SigningRefusal(
                caller, username, record_id, meaning, f"token refused: {exc}"
            ) from None
        if components == ONE and signer.subject != caller.principal.subject:
            raise SigningRefusal(caller, username, record_id, meaning, "not the session's person")
        return signer, components

    async def _one_component_refusal(self, uow: UnitOfWork, caller: Caller) -> str | None:
        if not self.settings.one_component_in_session:
            return "this site signs with user id and password every time"
        sid = caller.principal.session_id
        if sid is None:
            return "no sign-in session to continue"
        since = self.clock.now() - timedelta(minutes=self.settings.session_idle_minutes)
        row = (
            await uow.session.execute(
                select(func.max(signatures.c.signed_at)).where(
                    signatures.c.signer_id == caller.user_id,
                    signatures.c.session_id == sid,
                    signatures.c.components == ",".join(TWO),
                )
            )
        ).scalar()
        last = (
            await uow.session.execute(
                select(func.max(signatures.c.signed_at)).where(
                    signatures.c.signer_id == caller.user_id, signatures.c.session_id == sid
                )
            )
        ).scalar()
        if row is None:
            return "sign with user id and password first in this session"
        if last is None or last < since:
            return "the session is not continuous (no signing for too long): both components"
        return None

    async def record_refusal(self, refusal: SigningRefusal) -> DomainError:
        """Record a refused signing in its own transaction (after the act's rolled back);
        for a failed authentication count the account's failures and tell security when
        they reach the threshold. The problem to answer."""
        caller, username, record_id = refusal.caller, refusal.username, refusal.record_id
        meaning, reason = refusal.meaning, refusal.reason
        now = self.clock.now()
        since = now - timedelta(minutes=self.settings.failure_window_minutes)
        stream = refusals_stream(username)
        async with self.new_uow() as uow:
            earlier = await uow.events.read_stream(stream)
            failed = refusal.problem is None  # an authentication that failed
            count = int(failed) + sum(
                1
                for e in earlier
                if e.event_type.endswith(SigningRefused.kind)
                and e.payload.get("authentication_failed", True)
                and datetime.fromisoformat(e.payload["refused_at"]) >= since
            )
            refused = SigningRefused(
                username=username,
                session_user_id=caller.user_id,
                record_id=record_id,
                meaning=meaning,
                reason=reason,
                refused_at=now,
                failures_in_window=count,
                authentication_failed=failed,
            )
            found: list[Any] = [refused]
            if failed and count >= self.settings.failures_before_notice:
                contact = self.settings.security_contact or "(none configured)"
                delivered, detail = await self.notifier.notify(
                    f"vein2vein: {count} failed signings of {username!r}",
                    f"{count} failed signing attempts of account {username!r} within "
                    f"{self.settings.failure_window_minutes} min, the last at {now.isoformat()} "
                    f"from the session of {caller.user_id!r} on record {record_id!r} "
                    f"({meaning.value}): {reason}.",
                )
                found.append(
                    SecurityNotified(
                        username=username,
                        contact=contact,
                        failures_in_window=count,
                        delivered=delivered,
                        detail=detail,
                        notified_at=now,
                    )
                )
            await uow.events.append(
                stream,
                len(earlier),
                [_stored_as(uow, ev, caller.who) for ev in found],
            )
        if refusal.problem is not None:
            return refusal.problem
        return SigningFailed(
            "signature-authentication-failed",
            f"the signature was not accepted: {reason}; the attempt is recorded",
            failures=count,
        )


def _stored_as(uow: UnitOfWork, ev: DomainEvent, actor: dict[str, Any]) -> NewEvent:
    """A runtime event (``v2v.<kind>``) as the store keeps it, with the request's lineage."""
    return NewEvent(
        event_id=uow.ids.new_id(),
        event_type=f"{RUNTIME_PREFIX}.{ev.kind}",
        schema_version=ev.schema_version,
        payload=ev.model_dump(mode="json"),
        actor=actor,
        correlation_id=uow.lineage.correlation_id,
        causation_id=uow.lineage.causation_id,
    )


async def _head(uow: UnitOfWork, record_id: str) -> tuple[int, str]:
    row = (
        await uow.session.execute(
            select(streams.c.version, streams.c.head_hash).where(streams.c.stream_id == record_id)
        )
    ).first()
    return (0, GENESIS) if row is None else (int(row.version), str(row.head_hash))
