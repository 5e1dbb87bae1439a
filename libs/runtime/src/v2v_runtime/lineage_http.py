"""The lineage of an HTTP request: a client may name the conversation a command belongs to
with ``X-Correlation-Id``; every event and message the request causes then carries it."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from .lineage import Lineage, request_lineage

HEADER = b"x-correlation-id"
_VALID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


class LineageMiddleware:
    """Pure ASGI: sets the request's lineage for the units of work opened while serving it.
    A missing or malformed header leaves it empty (each message is then its own
    conversation, as before)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = next((v for k, v in scope.get("headers", ()) if k == HEADER), None)
        if value is None or not _VALID.match(value):
            await self.app(scope, receive, send)
            return
        token = request_lineage.set(Lineage(correlation_id=value.decode()))
        try:
            await self.app(scope, receive, send)
        finally:
            request_lineage.reset(token)
