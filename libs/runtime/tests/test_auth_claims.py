"""Claim paths and the Principal, for the token shapes of Keycloak, Microsoft Entra ID and
Okta (the settings docs/operations.md gives for each)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from v2v_runtime.auth import InvalidToken, OidcSettings, claim_at, principal_from_claims

NOW = 1_800_000_000


def _settings(**overrides: Any) -> OidcSettings:
    return OidcSettings(issuer="https://idp.test/realm", **overrides)


def test_claim_paths() -> None:
    claims = {
        "realm_access": {"roles": ["a"]},
        "resource_access": {"vein2vein-api": {"roles": ["b"]}},
        "extn.sites": ["tc-1"],
        "x": {"y.z": {"w": 1}},
    }
    assert claim_at(claims, "realm_access.roles") == ["a"]
    assert claim_at(claims, "resource_access.vein2vein-api.roles") == ["b"]
    assert claim_at(claims, "extn.sites") == ["tc-1"]  # a key with a dot, found whole
    assert claim_at(claims, "x.y.z.w") == 1
    assert claim_at(claims, "realm_access.missing") is None
    assert claim_at(claims, "realm_access.roles.deeper") is None


def test_keycloak_person() -> None:
    claims = {
        "iss": "https://idp.test/realm",
        "sub": "f1",
        "iat": NOW,
        "exp": NOW + 300,
        "azp": "vein2vein-portal",
        "preferred_username": "qa-reviewer",
        "name": "Quinn Avery",
        "realm_access": {"roles": ["qa-reviewer"]},
        "sites": ["manufacturing-site-1"],
    }
    p = principal_from_claims(claims, _settings())
    assert (p.subject, p.username, p.name) == ("f1", "qa-reviewer", "Quinn Avery")
    assert p.roles == {"qa-reviewer"} and p.sites == {"manufacturing-site-1"}
    assert not p.machine
    assert p.authenticated_at == datetime.fromtimestamp(NOW, UTC)  # direct grant: no auth_time
    assert p.has_role("qa-reviewer", "auditor") and not p.has_role("auditor")


def test_keycloak_machine_client() -> None:
    claims = {
        "sub": "sa-1",
        "iat": NOW,
        "exp": NOW + 300,
        "azp": "system-journey",
        "client_id": "system-journey",
        "realm_access": {"roles": ["system-journey"]},
    }
    p = principal_from_claims(claims, _settings())
    assert p.machine and p.username == "system-journey" and p.client_id == "system-journey"
    assert p.roles == {"system-journey"} and p.sites == frozenset() and p.name is None


def test_entra_id() -> None:
    settings = _settings(roles_claim="roles", sites_claim="extn.sites", machine_claim="idtyp=app")
    person = {
        "sub": "pairwise",
        "iat": NOW,
        "exp": NOW + 3600,
        "auth_time": NOW - 30,
        "roles": ["qa-reviewer"],
        "name": "Quinn Avery",
        "preferred_username": "quinn@site.example",
        "extn.sites": ["manufacturing-site-1"],
        "azp": "portal-app-id",
    }
    p = principal_from_claims(person, settings)
    assert p.roles == {"qa-reviewer"} and p.sites == {"manufacturing-site-1"} and not p.machine
    assert p.authenticated_at == datetime.fromtimestamp(NOW - 30, UTC)
    app = {"sub": "sp", "iat": NOW, "exp": NOW + 3600, "roles": ["device-ingest"], "idtyp": "app"}
    assert principal_from_claims(app, settings).machine


def test_okta_groups_and_scopes_merge() -> None:
    settings = _settings(roles_claim="groups,scp", machine_claim="v2v_client=machine")
    person = {"sub": "quinn@site.example", "iat": NOW, "exp": NOW + 3600, "groups": ["qc-analyst"]}
    p = principal_from_claims({**person, "scp": ["openid", "profile"]}, settings)
    assert p.roles == {"qc-analyst", "openid", "profile"}
    assert p.username == "quinn@site.example"  # no preferred_username: the subject
    machine = {
        "sub": "0oa1",
        "iat": NOW,
        "exp": NOW + 3600,
        "scp": "device-ingest",  # space-separated string form
        "v2v_client": "machine",
    }
    m = principal_from_claims(machine, settings)
    assert m.machine and m.roles == {"device-ingest"}


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": NOW, "exp": NOW + 1},
        {"sub": "s", "iat": "yesterday", "exp": NOW + 1},
        {"sub": "s", "iat": NOW, "exp": NOW + 1, "realm_access": {"roles": [1]}},
        {"sub": "s", "iat": NOW, "exp": NOW + 1, "sites": {"tc-1": True}},
    ],
)
def test_malformed(claims: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken) as caught:
        principal_from_claims(claims, _settings())
    assert caught.value.reason == "malformed-claim"
