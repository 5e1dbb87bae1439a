"""OidcSettings from the environment: defaults for the Keycloak realm, comma lists, and the
refusals that keep a misconfiguration from weakening verification."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from v2v_runtime.auth import SUPPORTED_ALGORITHMS, OidcSettings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("V2V_OIDC_"):
            monkeypatch.delenv(name)


def test_defaults_fit_the_keycloak_realm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2V_OIDC_ISSUER", "https://login.site.example/realms/vein2vein")
    s = OidcSettings()  # type: ignore[call-arg]
    assert s.audience == "vein2vein-api"
    assert s.roles_claim == ("realm_access.roles",)
    assert (s.sites_claim, s.name_claim) == ("sites", "name")
    assert s.username_claim == "preferred_username"
    assert s.machine_claim == "client_id"
    assert s.algorithms == SUPPORTED_ALGORITHMS
    assert s.discovery == (
        "https://login.site.example/realms/vein2vein/.well-known/openid-configuration"
    )
    assert s.max_token_bytes == 16384


def test_environment_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2V_OIDC_ISSUER", "https://acme.okta.com/oauth2/default")
    monkeypatch.setenv("V2V_OIDC_ROLES_CLAIM", "groups, scp")
    monkeypatch.setenv("V2V_OIDC_ALGORITHMS", "RS256")
    monkeypatch.setenv("V2V_OIDC_DISCOVERY_URL", "https://idp.internal/.well-known/x")
    s = OidcSettings()  # type: ignore[call-arg]
    assert s.roles_claim == ("groups", "scp")
    assert s.algorithms == ("RS256",)
    assert s.discovery == "https://idp.internal/.well-known/x"


def test_issuer_is_required() -> None:
    with pytest.raises(ValidationError):
        OidcSettings()  # type: ignore[call-arg]


@pytest.mark.requirement("21CFR11.30")
@pytest.mark.parametrize("algorithms", ["none", "HS256", "RS256,HS512", "", "rs256"])
def test_only_asymmetric_algorithms(algorithms: str) -> None:
    with pytest.raises(ValidationError, match="never 'none' or an HMAC"):
        OidcSettings(issuer="https://idp.test", algorithms=algorithms)  # type: ignore[arg-type]


@pytest.mark.requirement("21CFR11.30")
def test_plain_http_only_on_the_loopback_or_when_allowed() -> None:
    OidcSettings(issuer="http://127.0.0.1:18080/realms/vein2vein")
    OidcSettings(issuer="http://localhost:18080/realms/vein2vein")
    with pytest.raises(ValidationError, match="plain http"):
        OidcSettings(issuer="http://keycloak:8080/realms/vein2vein")
    with pytest.raises(ValidationError, match="plain http"):
        OidcSettings(issuer="https://idp.test", discovery_url="http://idp.internal/x")
    OidcSettings(issuer="http://keycloak:8080/realms/vein2vein", allow_insecure_http=True)
    with pytest.raises(ValidationError, match="not an http"):
        OidcSettings(issuer="ftp://idp.test")


@pytest.mark.parametrize(("field", "value"), [("leeway_s", -1), ("max_token_bytes", 10)])
def test_bounds(field: str, value: int) -> None:
    with pytest.raises(ValidationError):
        OidcSettings(issuer="https://idp.test", **{field: value})  # type: ignore[arg-type]
