"""The FastAPI side: ``CurrentPrincipal``, a route parameter that requires a valid bearer
token (RFC 6750). Failures become RFC 9457 problems through ``install_problem_handlers``
(401 with ``WWW-Authenticate: Bearer``, 503 when the provider's keys cannot be fetched)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .claims import Principal
from .errors import InvalidToken
from .verifier import TokenVerifier

# auto_error=False: a missing token is our 401 problem, not FastAPI's bare 403.
_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="An access token from the site's OpenID Connect provider",
)


def install_token_verifier(app: FastAPI, verifier: TokenVerifier) -> None:
    app.state.token_verifier = verifier


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise InvalidToken("missing", "send an access token: Authorization: Bearer <token>")
    verifier = getattr(request.app.state, "token_verifier", None)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError("no token verifier installed: call install_token_verifier(app, …)")
    return await verifier.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
