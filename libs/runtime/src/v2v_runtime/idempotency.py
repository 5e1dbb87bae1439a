"""Idempotency-Key: a request's key is claimed in the same transaction as its effect.

The HTTP side (``v2v_runtime.idempotency_http``) puts the request's :class:`Claim` in a
context variable; :class:`~v2v_runtime.uow.UnitOfWork` inserts it on its commit path, so the
claim exists exactly when the effect does: a failed (rolled-back) request leaves no claim,
and a repeat finds the claim of an applied one. No FastAPI here: the unit of work imports
this module.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .db.tables import idempotency
from .errors import Conflict

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200
# Visible ASCII, inner spaces allowed (HTTP strips outer whitespace from header values).
KEY_PATTERN = rf"^[!-~](?:[ -~]{{0,{MAX_KEY_LENGTH - 2}}}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)


def valid_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


def scope_of(method: str, route: str, caller: str) -> str:
    """Where a key is valid: one operation (method + route template) of one caller, so a
    key never replays another caller's response nor another operation's."""
    return f"{method.upper()} {route} {caller}"


def request_hash(body: bytes, path_params: Mapping[str, Any], query_string: bytes) -> str:
    """SHA-256 of the canonical JSON of what the request asks for: body, path and query
    parameters. Key order and whitespace of the body do not matter; values do."""
    parsed: Any
    try:
        parsed = {"json": json.loads(body)} if body else None
    except ValueError:
        parsed = {"sha256": hashlib.sha256(body).hexdigest()}
    canonical = {
        "body": parsed,
        "path": {k: str(v) for k, v in path_params.items()},
        "query": sorted(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Claim:
    """One request's key; ``committed`` once a unit of work committed it with the effect."""

    scope: str
    key: str
    request_hash: str
    committed: bool = False


@dataclass(frozen=True)
class Recorded:
    """A claim as stored, with the response once the request's handler returned."""

    request_hash: str
    status: int | None
    body: str | None
    content_type: str | None

    @property
    def answered(self) -> bool:
        return self.status is not None


class KeyInUse(Conflict):
    """Another request with the same key committed first; this one's effect was undone."""

    def __init__(self) -> None:
        super().__init__(
            "idempotency-key-in-use",
            "a concurrent request with the same Idempotency-Key was applied; "
            "repeat this request to receive its response",
        )


_current: ContextVar[Claim | None] = ContextVar("v2v_idempotency_claim", default=None)


def current() -> Claim | None:
    """The claim of the request being handled, if it carries a key."""
    return _current.get()


@contextmanager
def claiming(claim: Claim) -> Iterator[Claim]:
    token = _current.set(claim)
    try:
        yield claim
    finally:
        _current.reset(token)


async def insert_claim(session: AsyncSession, claim: Claim, now: datetime) -> None:
    """Insert the claim in the caller's transaction (before its commit). A concurrent
    request that committed the same (scope, key) first makes this raise :class:`KeyInUse`;
    the caller's transaction must then be rolled back (its effect is a duplicate)."""
    try:
        await session.execute(
            insert(idempotency).values(
                scope=claim.scope, key=claim.key, request_hash=claim.request_hash, created_at=now
            )
        )
    except IntegrityError:
        raise KeyInUse() from None


async def find(session: AsyncSession, scope: str, key: str) -> Recorded | None:
    row = (
        await session.execute(
            select(
                idempotency.c.request_hash,
                idempotency.c.response_status,
                idempotency.c.response_body,
                idempotency.c.response_content_type,
            ).where(idempotency.c.scope == scope, idempotency.c.key == key)
        )
    ).first()
    if row is None:
        return None
    return Recorded(row[0], row[1], row[2], row[3])


async def record_response(
    session: AsyncSession,
    claim: Claim,
    status: int,
    body: str,
    content_type: str | None,
    now: datetime,
) -> None:
    """Store the response on a committed claim (once: a stored response is never changed)."""
    await session.execute(
        update(idempotency)
        .where(
            idempotency.c.scope == claim.scope,
            idempotency.c.key == claim.key,
            idempotency.c.completed_at.is_(None),
        )
        .values(
            response_status=status,
            response_body=body,
            response_content_type=content_type,
            completed_at=now,
        )
    )
