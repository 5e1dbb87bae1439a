"""The lineage of an HTTP request: a client may name the conversation a command belongs to
with ``X-Correlation-Id``; every event and message the request causes then carries it."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from .caller_context import current_caller
from .lineage import NONE, Lineage, request_lineage

HEADER = b"x-correlation-id"
_VALID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


class LineageMiddleware:
    """Pure ASGI: sets the request's lineage for the units of work opened while serving it.
    A missing or malformed header leaves it empty (each message is then its own
    conversation)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = next((v for k, v in scope.get("headers", ()) if k == HEADER), None)
        lineage = Lineage(correlation_id=value.decode()) if value and _VALID.match(value) else NONE
        # The caller (set by the route's role check) and the lineage are this request's
        # alone: reset afterwards, even where the app runs in its caller's task (ASGI tests).
        token, caller = request_lineage.set(lineage), current_caller.set(None)
        try:
            await self.app(scope, receive, send)
        finally:
            current_caller.reset(caller)
            request_lineage.reset(token)
