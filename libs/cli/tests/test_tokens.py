"""TokenBroker against a stand-in token endpoint: one request per user until the token nears
expiry, the demo secrets for confidential clients, OAuth errors surfaced."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

import httpx
import pytest

from v2v_cli.tokens import DEMO_PASSWORD, DEMO_SECRETS, TokenBroker, TokenRequestError

ISSUER = "http://127.0.0.1:18080/realms/vein2vein"


def broker(expires_in: int, seen: list[dict[str, str]]) -> TokenBroker:
    def endpoint(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == f"{ISSUER}/protocol/openid-connect/token"
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        seen.append(form)
        if form.get("password") == "wrong":
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "no"})
        token = f"token-{len(seen)}"
        return httpx.Response(200, json={"access_token": token, "expires_in": expires_in})

    return TokenBroker(ISSUER, httpx.AsyncClient(transport=httpx.MockTransport(endpoint)))


async def test_one_request_per_user_while_the_token_lasts() -> None:
    seen: list[dict[str, str]] = []
    tokens = broker(300, seen)
    assert await tokens.for_user("qa-reviewer") == "token-1"
    assert await tokens.for_user("qa-reviewer") == "token-1"
    assert await tokens.for_user("auditor") == "token-2"
    assert seen[0] == {
        "grant_type": "password",
        "client_id": "vein2vein-portal",
        "username": "qa-reviewer",
        "password": DEMO_PASSWORD,
        "scope": "openid",
    }
    assert tokens.requests == 2


async def test_a_token_near_expiry_is_replaced() -> None:
    seen: list[dict[str, str]] = []
    tokens = broker(20, seen)  # less than the renewal margin
    assert await tokens.for_client("system-journey") == "token-1"
    assert await tokens.for_client("system-journey") == "token-2"
    assert seen[0]["client_secret"] == DEMO_SECRETS["system-journey"]
    assert seen[0]["grant_type"] == "client_credentials"


async def test_refusals_carry_the_oauth_error() -> None:
    tokens = broker(300, [])
    with pytest.raises(TokenRequestError) as caught:
        await tokens.password_grant("qa-reviewer", "wrong")
    assert (caught.value.status, caught.value.error) == (400, "invalid_grant")


async def test_concurrent_callers_share_one_login() -> None:
    # Keycloak's brute-force protection refuses concurrent logins of one user.
    seen: list[dict[str, str]] = []
    tokens = broker(300, seen)
    got = await asyncio.gather(*(tokens.for_user("courier") for _ in range(8)))
    assert got == ["token-1"] * 8
    assert tokens.requests == 1


async def test_a_persons_password_grants_take_turns_whatever_the_client() -> None:
    """A login waits while the same person's signing (a re-authentication through a
    service, under ``person_lock``) is at the provider, and the other way round."""
    seen: list[dict[str, str]] = []
    tokens = broker(300, seen)
    assert tokens.person_lock("qa-reviewer") is tokens.person_lock("qa-reviewer")
    assert tokens.person_lock("qa-reviewer") is not tokens.person_lock("qc-analyst")
    async with tokens.person_lock("qa-reviewer"):  # a signing of qa-reviewer in flight
        login = asyncio.create_task(tokens.for_user("qa-reviewer", client_id="vein2vein-portal"))
        other = await tokens.for_user("qc-analyst")  # someone else is not held up
        await asyncio.sleep(0.01)
        assert not login.done() and other == "token-1"
    assert await login == "token-2"
