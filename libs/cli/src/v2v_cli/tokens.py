"""Access tokens from the demo realm (deploy/keycloak/vein2vein-realm.json) for tests and the
demo: the password grant for people, client credentials for machine clients, each token
kept until shortly before it expires (one login per user per session, not per request).

The demo realm's passwords and secrets are public on purpose (docs/local-stack.md): it is
never a production realm.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import jwt

DEMO_PASSWORD = "v2v-demo-password"  # noqa: S105 (every demo user of the demo realm)
PORTAL_CLIENT = "vein2vein-portal"
SIGNING_CLIENT = "vein2vein-signing"
# Confidential clients of the demo realm and their secrets.
DEMO_SECRETS = {
    SIGNING_CLIENT: "demo-secret-vein2vein-signing",
    "system-journey": "demo-secret-system-journey",
    "device-ingest": "demo-secret-device-ingest",
    "courier-integration": "demo-secret-courier-integration",
}
_RENEW_BEFORE_S = 30  # a cached token this close to expiry is replaced


class TokenRequestError(Exception):
    """The provider refused to issue a token (OAuth 2.0 error response, RFC 6749 §5.2)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"HTTP {status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_at: float  # time.time() seconds
    raw: dict[str, Any]


class _PersonLock(asyncio.Lock):
    """An asyncio lock that knows the task holding it: a signer's turn (the Driver holds
    it around a signed request) must not wait for itself when that request signs in."""

    _owner: asyncio.Task[Any] | None = None

    async def acquire(self) -> Literal[True]:
        await super().acquire()
        self._owner = asyncio.current_task()
        return True

    def release(self) -> None:
        self._owner = None
        super().release()

    def held_by_me(self) -> bool:
        return self.locked() and self._owner is asyncio.current_task()


class TokenBroker:
    def __init__(self, issuer: str, client: httpx.AsyncClient | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.token_url = f"{self.issuer}/protocol/openid-connect/token"
        self._client = client or httpx.AsyncClient(timeout=30)
        self._owns_client = client is None
        self._cache: dict[tuple[str, str], IssuedToken] = {}
        self._locks: dict[str, _PersonLock] = {}  # by login, whatever the client
        self.requests = 0  # tokens actually requested from the provider

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def for_user(self, username: str, *, client_id: str = PORTAL_CLIENT) -> str:
        """A cached access token of a demo user (demo password)."""
        return await self._cached(
            (client_id, username),
            lambda: self.password_grant(username, DEMO_PASSWORD, client_id),
        )

    async def headers(self, username: str) -> dict[str, str]:
        """Request headers of a demo user, signed in."""
        return {"Authorization": f"Bearer {await self.for_user(username)}"}

    async def subject(self, username: str) -> str:
        """The provider's subject id of a demo user (what records carry as user_id)."""
        claims = jwt.decode(await self.for_user(username), options={"verify_signature": False})
        return str(claims["sub"])

    async def for_client(self, client_id: str) -> str:
        """A cached client-credentials access token of a demo machine client."""
        form = {"grant_type": "client_credentials", "client_id": client_id}
        return await self._cached((client_id, ""), lambda: self.request(form))

    def person_lock(self, username: str) -> asyncio.Lock:
        """Held while a password of ``username`` goes to the provider (a login here, or a
        re-authentication at signing through a service): Keycloak's brute-force protection
        refuses concurrent password grants of one user as if they were an attack. The task
        holding it may still sign in as that person (its token renewed meanwhile)."""
        return self._lock(username)

    def _lock(self, username: str) -> _PersonLock:
        return self._locks.setdefault(username, _PersonLock())

    async def _cached(
        self, key: tuple[str, str], issue: Callable[[], Awaitable[IssuedToken]]
    ) -> str:
        # One login at a time per user: with brute-force protection on, Keycloak refuses
        # concurrent logins of one user as if they were an attack ("Invalid user
        # credentials"), so concurrent callers wait for the first one's token.
        lock = self._lock(key[1])
        async with contextlib.nullcontext() if lock.held_by_me() else lock:
            cached = self._cache.get(key)
            if cached is None or cached.expires_at - time.time() < _RENEW_BEFORE_S:
                cached = await issue()
                self._cache[key] = cached
            return cached.access_token

    async def password_grant(
        self, username: str, password: str, client_id: str = PORTAL_CLIENT
    ) -> IssuedToken:
        """A fresh token (never cached): e.g. a wrong password, or a re-authentication."""
        form = {
            "grant_type": "password",
            "client_id": client_id,
            "username": username,
            "password": password,
            "scope": "openid",
        }
        return await self.request(form)

    async def request(self, form: dict[str, str]) -> IssuedToken:
        secret = DEMO_SECRETS.get(form["client_id"])
        if secret is not None and "client_secret" not in form:
            form = {**form, "client_secret": secret}
        self.requests += 1
        started = time.time()
        response = await self._client.post(self.token_url, data=form)
        body: dict[str, Any] = response.json() if response.content else {}
        if response.status_code != 200:
            raise TokenRequestError(
                response.status_code,
                str(body.get("error", "unknown")),
                str(body.get("error_description", "")),
            )
        expires_in = float(body.get("expires_in", 60))
        return IssuedToken(body["access_token"], started + expires_in, body)
