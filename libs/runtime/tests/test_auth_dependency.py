"""CurrentPrincipal on a tiny app: RFC 9457 problems for every refusal (401 with an RFC 6750
challenge; 503 when the provider's keys cannot be fetched), never a 500; health stays open."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from v2v_runtime.auth import CurrentPrincipal, ProviderUnavailable, install_token_verifier
from v2v_runtime.auth.testing import LocalIssuer, rsa_key
from v2v_runtime.http import PROBLEM_JSON, health_router, install_problem_handlers


def make_app(idp: LocalIssuer) -> FastAPI:
    app = FastAPI()
    app.include_router(health_router({}))
    install_problem_handlers(app)
    install_token_verifier(app, idp.verifier())

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
        return {
            "username": principal.username,
            "roles": sorted(principal.roles),
            "sites": sorted(principal.sites),
            "machine": principal.machine,
        }

    return app


@pytest.fixture
def idp() -> LocalIssuer:
    return LocalIssuer()


@pytest.fixture
def client(idp: LocalIssuer) -> TestClient:
    return TestClient(make_app(idp), raise_server_exceptions=False)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_valid_token(client: TestClient, idp: LocalIssuer) -> None:
    r = client.get("/whoami", headers=_bearer(idp.token()))
    assert r.status_code == 200
    assert r.json() == {
        "username": "qa-reviewer",
        "roles": ["qa-reviewer"],
        "sites": ["manufacturing-site-1"],
        "machine": False,
    }


def test_health_needs_no_token(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


@pytest.mark.requirement("21CFR11.10(d)", "EU-Annex11.12.1")
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic cWE6cGFzcw=="}, {"Authorization": "Bearer"}],
    ids=["none", "basic", "empty-bearer"],
)
def test_missing_token_is_a_401_challenge(client: TestClient, headers: dict[str, str]) -> None:
    r = client.get("/whoami", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["www-authenticate"] == 'Bearer realm="vein2vein"'
    body = r.json()
    assert body["type"] == "urn:vein2vein:problem:invalid-token"
    assert body["reason"] == "missing"


def _bad_tokens(idp: LocalIssuer) -> dict[str, str]:
    now = int(time.time())
    _, payload, _ = idp.token().split(".")
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return {
        "expired": idp.token(iat=now - 900, exp=now - 600),
        "wrong-audience": idp.token(aud="account"),
        "wrong-issuer": idp.token(iss="https://evil.test"),
        "algorithm-not-allowed": f"{unsigned}.{payload}.",
        "unknown-key": idp.token(rsa_key()),
        "too-large": idp.token(padding="x" * 20_000),
        "malformed": "not-a-jwt",
    }


@pytest.mark.requirement("21CFR11.10(d)", "EU-Annex11.12.1")
@pytest.mark.parametrize(
    "reason",
    [
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "algorithm-not-allowed",
        "unknown-key",
        "too-large",
        "malformed",
    ],
)
def test_bad_tokens_are_401_problems(client: TestClient, idp: LocalIssuer, reason: str) -> None:
    r = client.get("/whoami", headers=_bearer(_bad_tokens(idp)[reason]))
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="vein2vein", error="invalid_token"')
    body = r.json()
    assert body["status"] == 401 and body["reason"] == reason
    assert body["detail"] in challenge


def test_provider_down_is_a_503_problem(idp: LocalIssuer) -> None:
    async def down() -> dict[str, object]:
        raise ProviderUnavailable("https://idp.test/... could not be reached (ConnectError)")

    idp.fetch = down  # type: ignore[method-assign]
    r = TestClient(make_app(idp)).get("/whoami", headers=_bearer(idp.token()))
    assert r.status_code == 503
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["retry-after"] == "5"
    body = r.json()
    assert body["type"] == "urn:vein2vein:problem:identity-provider-unavailable"
    assert "could not be reached" in body["detail"]


def test_openapi_declares_the_bearer_scheme(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from the site's OpenID Connect provider",
    }
    assert doc["paths"]["/whoami"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in doc["paths"]["/healthz"]["get"]


def test_a_missing_verifier_is_a_programming_error(idp: LocalIssuer) -> None:
    app = make_app(idp)
    del app.state.token_verifier
    r = TestClient(app, raise_server_exceptions=False).get("/whoami", headers=_bearer("x"))
    assert r.status_code == 500
