"""deploy/keycloak/vein2vein-realm.json, read as a file: the platform's roles, one demo user
per person role on known sites, machine clients with narrow roles, the token claims the
verifier reads, and the Part 11 account controls. (Keycloak imports it for real in the
integration stack: tests/integration/test_oidc_keycloak.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from v2v_cli.tokens import DEMO_PASSWORD, DEMO_SECRETS

ROOT = Path(__file__).resolve().parents[2]
REALM: dict[str, Any] = json.loads(
    (ROOT / "deploy" / "keycloak" / "vein2vein-realm.json").read_text()
)
SITE_DIRECTORY = json.loads(
    (ROOT / "services/custody/src/v2v_custody/config/sites.v1.json").read_text()
)
PERSON_ROLES = {
    "treatment-center-coordinator",
    "apheresis-nurse",
    "logistics-coordinator",
    "courier",
    "materials-handler",
    "cell-therapy-specialist",
    "manufacturing-supervisor",
    "qc-analyst",
    "qc-reviewer",
    "qa-reviewer",
    "infusion-nurse",
    "administrator",
    "auditor",
    "qualified-person",
}
MACHINE_ROLES = {"system-journey", "device-ingest", "courier-integration"}
USERS = {u["username"]: u for u in REALM["users"]}
PEOPLE = {name: u for name, u in USERS.items() if "serviceAccountClientId" not in u}
CLIENTS = {c["clientId"]: c for c in REALM["clients"]}
KNOWN_SITES = {
    site
    for key in ("treatment_centers", "apheresis_centers", "manufacturing_sites")
    for site in SITE_DIRECTORY[key]
}


def _mappers(client: dict[str, Any], kind: str) -> list[dict[str, str]]:
    return [m["config"] for m in client.get("protocolMappers", []) if m["protocolMapper"] == kind]


def test_realm_name_matches_the_file_name() -> None:
    assert REALM["realm"] == "vein2vein" and REALM["enabled"]


def test_every_role_exists_once() -> None:
    names = [r["name"] for r in REALM["roles"]["realm"]]
    assert sorted(names) == sorted(PERSON_ROLES | MACHINE_ROLES)
    assert all(r.get("description") for r in REALM["roles"]["realm"])


def test_one_demo_user_per_person_role_with_its_role_alone() -> None:
    for role in PERSON_ROLES:
        assert PEOPLE[role]["realmRoles"] == [role]
    for user in PEOPLE.values():
        assert len(user["realmRoles"]) == 1 and user["realmRoles"][0] in PERSON_ROLES


def test_segregation_of_duties_and_second_site_users() -> None:
    qa = [u for u in PEOPLE.values() if u["realmRoles"] == ["qa-reviewer"]]
    site1 = [u for u in qa if "manufacturing-site-1" in u["attributes"]["sites"]]
    assert len(site1) >= 2, "two QA reviewers at one site (a second person reviews)"
    site2 = {s for u in PEOPLE.values() for s in u["attributes"]["sites"] if s.endswith("-2")}
    assert {"treatment-center-2", "apheresis-center-2", "manufacturing-site-2"} <= site2


def test_people_have_printed_names_sites_and_the_documented_password() -> None:
    for name, user in PEOPLE.items():
        assert user["enabled"] and user["firstName"] and user["lastName"], name
        assert user["email"].endswith(".invalid"), "demo addresses never reach anyone"
        assert set(user["attributes"]["sites"]) <= KNOWN_SITES, name
        assert user["attributes"]["sites"], f"{name} belongs to no site"
        (credential,) = user["credentials"]
        assert credential == {"type": "password", "value": DEMO_PASSWORD, "temporary": False}
    docs = (ROOT / "docs" / "local-stack.md").read_text()
    assert f"`{DEMO_PASSWORD}`" in docs
    for name in PEOPLE:
        assert f"`{name}`" in docs, f"{name} is not documented in docs/local-stack.md"


def test_credentials_carry_no_creation_date() -> None:
    """Keycloak dates them at import: an exported createdDate would expire the passwords
    (forceExpiredPasswordChange) months later in every fresh test stack."""
    assert "createdDate" not in json.dumps(REALM["users"])


@pytest.mark.requirement("EU-Annex11.12.3")
def test_the_declared_user_profile_keeps_sites() -> None:
    (provider,) = REALM["components"]["org.keycloak.userprofile.UserProfileProvider"]
    profile = json.loads(provider["config"]["kc.user.profile.config"][0])
    sites = next(a for a in profile["attributes"] if a["name"] == "sites")
    assert sites["multivalued"] is True
    assert sites["permissions"]["edit"] == ["admin"], "users do not choose their own sites"


@pytest.mark.requirement("21CFR11.100(a)", "21CFR11.300(a)")
def test_accounts_are_unique_and_never_renamed_or_self_registered() -> None:
    """One person, one account: nobody registers themselves, renames their username or
    shares an e-mail address with another account."""
    assert REALM["registrationAllowed"] is False
    assert REALM["editUsernameAllowed"] is False
    assert REALM["duplicateEmailsAllowed"] is False
    emails = [u["email"] for u in PEOPLE.values()]
    assert len(emails) == len(set(emails))


@pytest.mark.requirement("21CFR11.300(b)", "21CFR11.300(d)", "EU-Annex11.12.3", "21CFR11.200(a)(3)")
def test_password_policy_lockout_and_otp() -> None:
    policy = REALM["passwordPolicy"]
    length = int(re.search(r"length\((\d+)\)", policy).group(1))  # type: ignore[union-attr]
    assert length >= 12
    assert "notUsername" in policy and "passwordHistory(" in policy
    assert re.search(r"forceExpiredPasswordChange\((\d+)\)", policy)
    assert REALM["bruteForceProtected"] is True and not REALM["permanentLockout"]
    assert 3 <= REALM["failureFactor"] <= 10
    assert REALM["otpPolicyType"] == "totp" and REALM["otpPolicyDigits"] == 6
    assert not REALM["registrationAllowed"], "accounts are created by the administrator"
    assert REALM["eventsEnabled"] and REALM["adminEventsEnabled"], "logins and changes audited"
    assert len(DEMO_PASSWORD) >= length


def test_every_client_puts_the_api_audience_in_access_tokens() -> None:
    for client_id, client in CLIENTS.items():
        (audience,) = _mappers(client, "oidc-audience-mapper")
        assert audience["included.custom.audience"] == "vein2vein-api", client_id
        assert audience["access.token.claim"] == "true", client_id


@pytest.mark.parametrize("client_id", ["vein2vein-portal", "vein2vein-signing"])
def test_people_clients_map_sites_into_the_token(client_id: str) -> None:
    (sites,) = _mappers(CLIENTS[client_id], "oidc-usermodel-attribute-mapper")
    assert (sites["user.attribute"], sites["claim.name"]) == ("sites", "sites")
    assert sites["multivalued"] == "true" and sites["access.token.claim"] == "true"


@pytest.mark.requirement("21CFR11.200(a)(1)(ii)")
def test_portal_and_signing_clients() -> None:
    portal = CLIENTS["vein2vein-portal"]
    assert portal["publicClient"] and portal["standardFlowEnabled"]
    assert portal["directAccessGrantsEnabled"] and not portal["serviceAccountsEnabled"]
    assert portal["attributes"]["pkce.code.challenge.method"] == "S256"
    signing = CLIENTS["vein2vein-signing"]
    assert not signing["publicClient"] and signing["secret"] == DEMO_SECRETS["vein2vein-signing"]
    assert signing["directAccessGrantsEnabled"] and not signing["standardFlowEnabled"]
    assert not signing["serviceAccountsEnabled"]
    assert int(signing["attributes"]["access.token.lifespan"]) <= 300


@pytest.mark.parametrize("client_id", sorted(MACHINE_ROLES))
def test_machine_clients_are_client_credentials_only_with_their_role(client_id: str) -> None:
    client = CLIENTS[client_id]
    assert not client["publicClient"] and client["serviceAccountsEnabled"]
    assert not client["standardFlowEnabled"] and not client["directAccessGrantsEnabled"]
    assert client["secret"] == DEMO_SECRETS[client_id]
    # service_account puts client_id in the token: how the verifier knows a machine.
    assert "service_account" in client["defaultClientScopes"]
    assert "profile" not in client["defaultClientScopes"], "no person claims for a machine"
    account = USERS[f"service-account-{client_id}"]
    assert account["serviceAccountClientId"] == client_id
    assert account["realmRoles"] == [client_id]
    assert not _mappers(client, "oidc-usermodel-attribute-mapper"), "machines have no sites"
