"""Re-authentication at the provider (the signing client's password grant): a wrong password
is the signer's failure; a refused client is the site's misconfiguration (503, not counted
against the signer); the scope asked for is the site's setting."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import ValidationError

from v2v_runtime.auth.errors import ProviderUnavailable
from v2v_runtime.signatures.reauth import BadCredentials, PasswordGrant
from v2v_runtime.signatures.settings import SigningSettings

TOKEN_URL = "https://login.site.example/token"


def grant(status: int, body: dict[str, str], seen: list[dict[str, list[str]]]) -> PasswordGrant:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(parse_qs(request.content.decode()))
        return httpx.Response(status, json=body)

    return PasswordGrant(
        token_url=TOKEN_URL,
        discovery_url="https://login.site.example/.well-known/openid-configuration",
        client_id="vein2vein-signing",
        client_secret="s3cret",
        scope="api://vein2vein/.default",
        transport=httpx.MockTransport(answer),
    )


async def test_a_token_for_the_right_credentials_with_the_sites_scope() -> None:
    seen: list[dict[str, list[str]]] = []
    token = await grant(200, {"access_token": "eyJ.a.b"}, seen).token("qa", "pw")
    assert token == "eyJ.a.b"
    [form] = seen
    assert form["grant_type"] == ["password"] and form["username"] == ["qa"]
    assert form["scope"] == ["api://vein2vein/.default"]
    assert form["client_secret"] == ["s3cret"]


async def test_a_wrong_password_is_the_signers_failure() -> None:
    with pytest.raises(BadCredentials):
        await grant(401, {"error": "invalid_grant"}, []).token("qa", "nope")


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, "invalid_client"), (400, "unauthorized_client"), (400, "invalid_scope")],
)
async def test_a_refused_signing_client_is_the_sites_problem(status: int, error: str) -> None:
    with pytest.raises(ProviderUnavailable, match=error):
        await grant(status, {"error": error}, []).token("qa", "pw")


@pytest.mark.requirement("EU-Annex11.14(c)")
def test_the_sites_time_zone_is_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2V_SIGNING_TIME_ZONE", "Europe/Berlin")
    assert SigningSettings().time_zone == "Europe/Berlin"
    monkeypatch.setenv("V2V_SIGNING_TIME_ZONE", "Europe/Atlantis")
    with pytest.raises(ValidationError, match="IANA"):
        SigningSettings()
