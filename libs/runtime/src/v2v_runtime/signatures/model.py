"""Electronic signatures (21 CFR 11.50, 11.70, 11.100, 11.200; EU GMP Annex 11 §14): what is
signed, by whom, meaning what, proven how. Pure: no I/O, times and ids passed in.

A signature is a record of its own, stored in the signed record's stream (so the record's hash
chain covers it). It carries the **content** the signer was shown — the record's id, version and
chain hash at that version, the meaning, a statement and the action's values — and the SHA-256
of its canonical JSON (RFC 8785). Verification recomputes both: a signature copied or moved to
another record names the wrong record and the wrong record hash (``check_signature``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ..domain import DomainEvent
from ..hashchain import GENESIS

SHA256_HEX = r"^[0-9a-f]{64}$"


class Meaning(StrEnum):
    """What a signature means (21 CFR 11.50(a)(3)); ``certified`` is the QP's (EudraLex IV §11)."""

    PERFORMED = "performed"
    VERIFIED = "verified"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    RELEASED = "released"
    CONDITIONALLY_RELEASED = "conditionally-released"  # QA: results still pending (allowed)
    REJECTED = "rejected"
    AUTHORED = "authored"
    WITNESSED = "witnessed"
    RECEIVED = "received"
    CERTIFIED = "certified"


class SignatureRequest(BaseModel):
    """The ``signature`` of a signed request: the hash of the content shown to the signer and
    the signer's components. Two components: ``username`` and ``password`` (whoever presents
    them signs). One component, where the site allows it within a continuous session after a
    two-component signing: ``password`` alone, of the session's own person."""

    model_config = ConfigDict(extra="forbid")

    content_hash: str = Field(pattern=SHA256_HEX, description="SHA-256 of the content shown")
    username: str | None = Field(None, min_length=1, max_length=255)
    password: SecretStr = Field(min_length=1, max_length=1024)


def canonical(content: dict[str, Any]) -> bytes:
    """RFC 8785 (JCS): the one byte sequence of a JSON value."""
    return rfc8785.dumps(content)


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def signed_content(
    *,
    record_id: str,
    record_version: int,
    record_hash: str,
    meaning: Meaning,
    statement: str,
    values: dict[str, Any],
) -> dict[str, Any]:
    """What the signer is shown and signs: the record as it stands (id, version, chain hash),
    the meaning, a plain-language statement and the values of the act."""
    return {
        "record": {"id": record_id, "version": record_version, "hash": record_hash},
        "meaning": meaning.value,
        "statement": statement,
        "values": values,
    }


class Signer(BaseModel):
    """Who signed, as the identity provider vouched at signing (never the session's owner
    unless they are the one who authenticated)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str  # the provider's `sub`
    name: str  # printed name (11.50(a)(1))
    username: str
    role: str  # the role the signer acts in for this act


class Authentication(BaseModel):
    """The authentication event behind a signature."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["password-grant"]
    components: tuple[str, ...]  # ("user-id", "password") or ("password",)
    authenticated_at: datetime
    token_id: str | None  # `jti` of the token the provider issued at signing
    session_id: str | None  # the signing session (the bearer token's `sid`)
    session_user_id: str  # who the bearer session belongs to (may differ from the signer)


class SignatureRecorded(DomainEvent):
    """A signature, stored in the signed record's stream after the act it signs."""

    kind: ClassVar[str] = "signature.recorded"
    annotates_record: ClassVar[bool] = True

    signature_id: str
    record_id: str
    meaning: Meaning
    content: dict[str, Any]
    content_hash: str
    signer: Signer
    signed_at: datetime
    authentication: Authentication


class SigningRefused(DomainEvent):
    """A refused signing: a failed authentication (wrong password, a token offered as the
    component, no continuous session: counted, 11.300(d)) or content that is not the
    record's any more (recorded, not counted)."""

    kind: ClassVar[str] = "signature.refused"

    username: str
    session_user_id: str
    record_id: str
    meaning: Meaning
    reason: str
    refused_at: datetime
    failures_in_window: int  # failed authentications of the account in the window
    authentication_failed: bool = True  # False: refused for another reason (content changed)


class SecurityNotified(DomainEvent):
    """The site's security contact was told of repeated signing failures (11.300(d))."""

    kind: ClassVar[str] = "security.notified"

    username: str
    contact: str
    failures_in_window: int
    delivered: bool
    detail: str
    notified_at: datetime


class SignatureView(BaseModel):
    """A signature as every view of its record shows it."""

    signature_id: str
    record_id: str
    meaning: Meaning
    signer_id: str
    signer_name: str
    signer_role: str
    signed_at: datetime  # UTC, the server's
    signed_at_site: str  # the same instant in the site's time zone, for people
    statement: str
    content_hash: str
    components: str


RUNTIME_EVENTS: tuple[type[DomainEvent], ...] = (
    SignatureRecorded,
    SigningRefused,
    SecurityNotified,
)
RUNTIME_PREFIX = "v2v"


STREAM_ID_MAX = 200  # = the event store's stream ids (v2v_streams.stream_id)


def refusals_stream(username: str) -> str:
    """Where an account's failed signings are counted: by login; a login too long for a
    stream id (a provider may allow 255 characters) by its SHA-256."""
    name = username.lower()
    stream = f"signing-{name}"
    if len(stream) <= STREAM_ID_MAX:
        return stream
    return f"signing-sha256-{hashlib.sha256(name.encode()).hexdigest()}"


def check_signature(
    stream_id: str, version: int, payload: dict[str, Any], chain_hashes: dict[int, str]
) -> list[str]:
    """What is wrong with a stored signature (none: it signs this record as it stood).
    ``chain_hashes``: the stream's stored hash by version."""
    problems: list[str] = []
    content = payload.get("content")
    if not isinstance(content, dict):
        return ["signature without signed content"]
    record = content.get("record") or {}
    if payload.get("record_id") != stream_id or record.get("id") != stream_id:
        problems.append(
            f"signature names record {payload.get('record_id')!r}, stored in {stream_id!r} "
            "(moved or copied)"
        )
    signed_version = record.get("version")
    if not isinstance(signed_version, int) or not 0 <= signed_version < version:
        problems.append(f"signature of version {signed_version!r} stored at version {version}")
    else:
        expected = chain_hashes.get(signed_version) if signed_version else GENESIS
        if record.get("hash") != expected:
            problems.append(
                f"signed record hash differs from the record's version {signed_version}"
            )
    if content_hash(content) != payload.get("content_hash"):
        problems.append("signed content does not match its hash (altered)")
    if content.get("meaning") != payload.get("meaning"):
        problems.append("signature meaning differs from the content signed")
    return problems
