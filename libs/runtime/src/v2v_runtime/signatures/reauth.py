"""Re-authentication at signing: the signer proves, at that moment, both components to the
identity provider. With Keycloak (and any provider that allows it for a confidential client)
through the resource-owner password grant of a dedicated signing client; the token it
returns is verified like any bearer token, and its `sub` is the signer."""

from __future__ import annotations

from typing import Protocol

import httpx

from ..auth.errors import ProviderUnavailable


class BadCredentials(Exception):
    """The provider refused the user id / password (wrong, locked, disabled)."""


class Reauthenticator(Protocol):
    async def token(self, username: str, password: str) -> str:
        """An access token the provider issues now for these credentials, else
        ``BadCredentials``; ``ProviderUnavailable`` when it cannot be asked."""
        ...


class PasswordGrant:
    """Keycloak (or another provider): ``grant_type=password`` on the signing client."""

    def __init__(
        self,
        *,
        token_url: str | None,
        discovery_url: str,
        client_id: str,
        client_secret: str | None,
        scope: str = "openid",
        timeout_s: float = 5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = token_url  # else found through discovery at the first signing
        self._discovery_url = discovery_url
        self._client_id = client_id
        self._secret = client_secret
        self._scope = scope
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def token(self, username: str, password: str) -> str:
        form = {
            "grant_type": "password",
            "client_id": self._client_id,
            "username": username,
            "password": password,
            "scope": self._scope,
        }
        if self._secret is not None:
            form["client_secret"] = self._secret
        if self._url is None:
            self._url = await token_endpoint(self._http, self._discovery_url)
        try:
            resp = await self._http.post(self._url, data=form)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the signing provider cannot be reached: {exc}") from exc
        error = _error_of(resp)
        if resp.status_code in (400, 401) and error == "invalid_grant":
            # wrong password, unknown user, locked or disabled account: the provider does
            # not say which, nor do we.
            raise BadCredentials(error)
        if resp.status_code in (400, 401):
            # invalid_client, unauthorized_client, invalid_scope…: the site's signing client
            # is misconfigured (secret, direct grants off) — not the signer's failure.
            raise ProviderUnavailable(
                f"the signing client {self._client_id!r} was refused by the provider "
                f"({error or resp.status_code}): check V2V_SIGNING_CLIENT_ID/_SECRET/_SCOPE"
            )
        if resp.status_code != 200:
            raise ProviderUnavailable(f"the signing provider answered {resp.status_code}")
        token = resp.json().get("access_token")
        if not isinstance(token, str):
            raise ProviderUnavailable("the signing provider returned no access token")
        return token


async def token_endpoint(http: httpx.AsyncClient, discovery_url: str) -> str:
    """The provider's token endpoint, from its discovery document."""
    try:
        resp = await http.get(discovery_url)
        resp.raise_for_status()
        url = resp.json().get("token_endpoint")
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable(f"{discovery_url}: {exc}") from exc
    if not isinstance(url, str):
        raise ProviderUnavailable(f"{discovery_url} names no token_endpoint")
    return url


def _error_of(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else ""
