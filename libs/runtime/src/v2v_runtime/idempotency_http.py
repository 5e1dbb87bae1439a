"""The ``Idempotency-Key`` request header, for every POST (and PUT, PATCH, DELETE) of a
service: an ASGI middleware of the service kit, and its OpenAPI documentation.

A request with a key: a first one runs with its claim in context (the unit of work commits
the claim with the effect), then its response is stored on the claim before it is sent. A
repeat with the same body gets the stored response again (``Idempotent-Replayed: true``)
and acts no second time; with another body, a 422 problem. A request whose transaction
rolled back leaves no claim, so the same key may be retried. Without the header nothing
changes.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import idempotency
from .auth.errors import AuthError
from .auth.verifier import TokenVerifier
from .clock import Clock
from .http import problem

log = logging.getLogger("v2v.idempotency")

METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROBLEM = "urn:vein2vein:problem:"


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        openapi: Callable[[], dict[str, Any]],
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        wait_s: float,
        poll_s: float = 0.05,
    ) -> None:
        self.app = app
        self.operations = _Operations(openapi)
        self.sessions = sessions
        self.clock = clock
        self.wait_s = wait_s
        self.poll_s = poll_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(idempotency.HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not idempotency.valid_key(key):
            await problem(
                400,
                "Invalid Idempotency-Key",
                f"an {idempotency.HEADER} is 1 to {idempotency.MAX_KEY_LENGTH} visible "
                "ASCII characters (a UUID is a good key)",
                f"{PROBLEM}idempotency-key-invalid",
            )(scope, receive, send)
            return
        caller = await self._caller(scope, headers)
        if caller is None:  # no valid token: the route answers 401, nothing to replay
            await self.app(scope, receive, send)
            return
        route, path_params = self.operations.match(scope)
        body = await _read_body(receive)
        claim = idempotency.Claim(
            scope=idempotency.scope_of(scope["method"], route, caller),
            key=key,
            request_hash=idempotency.request_hash(body, path_params, scope["query_string"]),
        )
        earlier = await self._find(claim)
        if earlier is not None:
            await self._answer(earlier, claim, scope, receive, send)
            return
        response = _BufferedResponse()
        with idempotency.claiming(claim):
            await self.app(scope, _replay_body(body, receive), response.send)
        if claim.committed:
            # Stored before it is sent: whoever saw this response can get it again.
            await self._store(claim, response)
        else:
            # Nothing committed. A concurrent twin that committed first (this one lost the
            # race on the key, or failed on what the twin changed) answers for both.
            earlier = await self._find(claim)
            if earlier is not None:
                await self._answer(earlier, claim, scope, receive, send)
                return
        await response.forward(send)

    async def _caller(self, scope: Scope, headers: Headers) -> str | None:
        """Whose key this is: the subject of the request's verified token. Verified here,
        before routing, so a forged token can never replay someone else's response."""
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        verifier = getattr(scope["app"].state, "token_verifier", None)
        if scheme.lower() != "bearer" or not token or not isinstance(verifier, TokenVerifier):
            return None
        try:
            principal = await verifier.verify(token.strip())
        except AuthError:
            return None
        return principal.subject

    async def _find(self, claim: idempotency.Claim) -> idempotency.Recorded | None:
        async with self.sessions() as session:
            return await idempotency.find(session, claim.scope, claim.key)

    async def _answer(
        self,
        earlier: idempotency.Recorded,
        claim: idempotency.Claim,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Answer a request whose key was already claimed: replay, or say why not."""
        if earlier.request_hash != claim.request_hash:
            await problem(
                422,
                "Idempotency-Key reused",
                f"this {idempotency.HEADER} was used for a different request to this "
                "operation; use a new key for a new request",
                f"{PROBLEM}idempotency-key-reused",
            )(scope, receive, send)
            return
        deadline = time.monotonic() + self.wait_s
        while not earlier.answered and time.monotonic() < deadline:
            # The first request committed and is about to store its response.
            await asyncio.sleep(self.poll_s)
            earlier = await self._find(claim) or earlier
        if not earlier.answered:
            await problem(
                409,
                "Request applied, response unavailable",
                f"a request with this {idempotency.HEADER} was applied, but its response "
                "was not recorded (it failed after its changes were committed); GET the "
                "resource to see its state",
                f"{PROBLEM}idempotency-request-applied",
            )(scope, receive, send)
            return
        assert earlier.status is not None and earlier.body is not None
        raw = [(b"content-length", str(len(earlier.body.encode())).encode())]
        if earlier.content_type:
            raw.append((b"content-type", earlier.content_type.encode("latin-1")))
        raw.append((idempotency.REPLAYED_HEADER.lower().encode(), b"true"))
        await send({"type": "http.response.start", "status": earlier.status, "headers": raw})
        await send({"type": "http.response.body", "body": earlier.body.encode()})

    async def _store(self, claim: idempotency.Claim, response: _BufferedResponse) -> None:
        try:
            async with self.sessions() as session, session.begin():
                await idempotency.record_response(
                    session,
                    claim,
                    response.status,
                    response.body.decode("utf-8", errors="replace"),
                    response.content_type,
                    self.clock.now(),
                )
        except Exception:
            # The effect is committed: answer it anyway; a repeat will get a 409 saying so.
            log.exception("could not store the response of an idempotent request")


class _Operations:
    """Which operation of the API document a request targets: its path template and path
    parameters (known before the app routes the request). A request to a path that no
    operation documents is scoped by its literal path."""

    def __init__(self, openapi: Callable[[], dict[str, Any]]) -> None:
        self._openapi = openapi
        self._compiled: list[tuple[str, set[str], re.Pattern[str]]] | None = None

    def match(self, scope: Scope) -> tuple[str, dict[str, str]]:
        if self._compiled is None:
            self._compiled = [
                (template, {m.upper() for m in ops}, compile_path(template)[0])
                for template, ops in self._openapi().get("paths", {}).items()
            ]
        path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
        for template, methods, regex in self._compiled:
            found = regex.match(path) if scope["method"] in methods else None
            if found is not None:
                return template, found.groupdict()
        return path, {}


class _BufferedResponse:
    """Holds the app's response until it is stored (our responses are small JSON)."""

    def __init__(self) -> None:
        self.start: MutableMapping[str, Any] | None = None
        self.chunks: list[bytes] = []
        self.others: list[Message] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
        else:
            self.others.append(message)

    @property
    def status(self) -> int:
        assert self.start is not None, "the app sent no response"
        return int(self.start["status"])

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def content_type(self) -> str | None:
        assert self.start is not None
        return Headers(raw=list(self.start.get("headers", []))).get("content-type")

    async def forward(self, send: Send) -> None:
        assert self.start is not None, "the app sent no response"
        await send(dict(self.start))
        await send({"type": "http.response.body", "body": self.body})
        for message in self.others:
            await send(message)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay_body(body: bytes, receive: Receive) -> Receive:
    """The already-read body, once; then whatever the server sends next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def document(schema: dict[str, Any]) -> None:
    """Declare the header on every POST/PUT/PATCH/DELETE operation of an OpenAPI document,
    and the ``Idempotent-Replayed`` header on their responses."""
    components = schema.setdefault("components", {})
    components.setdefault("parameters", {})["IdempotencyKey"] = {
        "name": idempotency.HEADER,
        "in": "header",
        "required": False,
        "description": (
            "Makes the request safe to repeat: the same key and body again return the "
            "first response (marked Idempotent-Replayed) without acting twice; the same key "
            "with another body is a 422 problem (idempotency-key-reused). Keys are per "
            "operation and caller; a failed request may be retried with its key. "
            "See docs/integrators.md."
        ),
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": idempotency.MAX_KEY_LENGTH,
            "pattern": idempotency.KEY_PATTERN,
        },
    }
    components.setdefault("headers", {})["IdempotentReplayed"] = {
        "description": "present (true) when this response is the stored answer to an "
        "earlier request with the same Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    }
    for path in schema.get("paths", {}).values():
        for method, op in path.items():
            if method.upper() not in METHODS:
                continue
            op.setdefault("parameters", []).append(
                {"$ref": "#/components/parameters/IdempotencyKey"}
            )
            for response in op.get("responses", {}).values():
                response.setdefault("headers", {})[idempotency.REPLAYED_HEADER] = {
                    "$ref": "#/components/headers/IdempotentReplayed"
                }
