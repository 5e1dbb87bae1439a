"""The real Keycloak of the test stack with the demo realm, and the runtime's verifier on its
tokens: people by the password grant, machine clients by client credentials, refusals,
the password policy and brute-force lockout (with users of their own, never a demo user)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from v2v_cli.stack import Stack, StackConfig
from v2v_cli.testing import ProvisionedStack
from v2v_cli.tokens import DEMO_SECRETS, SIGNING_CLIENT, TokenBroker, TokenRequestError
from v2v_runtime.auth import InvalidToken, OidcSettings, Principal, TokenVerifier

pytestmark = pytest.mark.integration

REALM_FILE = Path(__file__).resolve().parents[2] / "deploy" / "keycloak" / "vein2vein-realm.json"
REALM = json.loads(REALM_FILE.read_text())
PEOPLE = {u["username"]: u for u in REALM["users"] if "serviceAccountClientId" not in u}
MACHINES = ("system-journey", "device-ingest", "courier-integration")
FAILURE_FACTOR = REALM["failureFactor"]


@pytest.fixture(scope="session")
async def verifier(oidc_issuer: str) -> AsyncIterator[TokenVerifier]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield TokenVerifier.from_settings(OidcSettings(issuer=oidc_issuer), http)


@pytest.fixture
async def own_user(admin: httpx.AsyncClient) -> AsyncIterator[tuple[str, str, str]]:
    """A user of this test alone (username, password, id), removed afterwards."""
    username = f"probe-{uuid.uuid4().hex[:12]}"
    password = f"probe-password-{uuid.uuid4().hex[:8]}"
    created = await admin.post(
        "/users",
        json={
            "username": username,
            "enabled": True,
            "emailVerified": True,
            "firstName": "Probe",
            "lastName": "User",
            "email": f"{username}@demo.vein2vein.invalid",
            "attributes": {"sites": ["manufacturing-site-1"]},
            "credentials": [{"type": "password", "value": password, "temporary": False}],
        },
    )
    assert created.status_code == 201, created.text
    user_id = created.headers["Location"].rsplit("/", 1)[1]
    yield username, password, user_id
    await admin.delete(f"/users/{user_id}")


def _expected_name(user: dict[str, Any]) -> str:
    return f"{user['firstName']} {user['lastName']}"


@pytest.mark.requirement("21CFR11.10(d)", "EU-Annex11.12.1")
@pytest.mark.parametrize(
    "username",
    ["qa-reviewer", "qa-reviewer-2", "cell-therapy-specialist", "infusion-nurse-site2", "auditor"],
)
async def test_people_log_in_and_their_token_verifies(
    tokens: TokenBroker, verifier: TokenVerifier, oidc_issuer: str, username: str
) -> None:
    user = PEOPLE[username]
    principal = await verifier.verify(await tokens.for_user(username))
    assert principal.username == username
    assert principal.name == _expected_name(user)
    assert principal.roles >= set(user["realmRoles"])
    assert principal.sites == set(user["attributes"]["sites"])
    assert not principal.machine
    assert principal.client_id == "vein2vein-portal"
    assert principal.issuer == oidc_issuer


async def test_one_login_per_user_per_session(tokens: TokenBroker) -> None:
    first = await tokens.for_user("qc-analyst")
    before = tokens.requests
    assert await tokens.for_user("qc-analyst") == first
    assert tokens.requests == before


@pytest.mark.requirement("21CFR11.10(h)")
@pytest.mark.parametrize("client_id", MACHINES)
async def test_machine_clients_get_narrow_tokens(
    tokens: TokenBroker, verifier: TokenVerifier, client_id: str
) -> None:
    principal: Principal = await verifier.verify(await tokens.for_client(client_id))
    assert principal.machine
    assert principal.username == principal.client_id == client_id
    assert principal.roles == {client_id}  # its own role only: no person's role
    assert principal.sites == frozenset() and principal.name is None


@pytest.mark.requirement("21CFR11.10(d)", "EU-Annex11.12.1")
async def test_people_cannot_use_client_credentials_and_machines_cannot_log_in(
    tokens: TokenBroker,
) -> None:
    with pytest.raises(TokenRequestError) as caught:
        await tokens.request({"grant_type": "client_credentials", "client_id": "vein2vein-portal"})
    assert (caught.value.status, caught.value.error) == (401, "unauthorized_client")
    with pytest.raises(TokenRequestError) as caught:
        await tokens.password_grant("qa-reviewer", "v2v-demo-password", client_id="system-journey")
    assert (caught.value.status, caught.value.error) == (400, "unauthorized_client")
    assert "direct access grants" in caught.value.description


@pytest.mark.requirement("21CFR11.200(a)(1)(ii)")
async def test_the_signing_client_issues_short_lived_tokens(
    tokens: TokenBroker, verifier: TokenVerifier
) -> None:
    issued = await tokens.password_grant("qa-reviewer", "v2v-demo-password", SIGNING_CLIENT)
    principal = await verifier.verify(issued.access_token)
    assert principal.client_id == SIGNING_CLIENT and principal.username == "qa-reviewer"
    assert issued.raw["expires_in"] <= 120  # a re-authentication proof, not a session
    with pytest.raises(TokenRequestError) as caught:  # it is confidential: no secret, no token
        await tokens.request(
            {
                "grant_type": "password",
                "client_id": SIGNING_CLIENT,
                "client_secret": "wrong-" + DEMO_SECRETS[SIGNING_CLIENT],
                "username": "qa-reviewer",
                "password": "v2v-demo-password",
            }
        )
    assert (caught.value.status, caught.value.error) == (401, "unauthorized_client")
    assert "Invalid client" in caught.value.description


@pytest.mark.requirement("21CFR11.10(d)", "21CFR11.300(d)", "EU-Annex11.12.1")
async def test_wrong_password_is_invalid_grant(
    tokens: TokenBroker, own_user: tuple[str, str, str]
) -> None:
    username, password, _ = own_user
    with pytest.raises(TokenRequestError) as caught:
        await tokens.password_grant(username, password + "-wrong")
    assert caught.value.status == 400 and caught.value.error == "invalid_grant"


async def test_a_token_for_another_audience_is_refused(
    oidc_issuer: str, tokens: TokenBroker
) -> None:
    http = httpx.AsyncClient(timeout=10)
    strict = TokenVerifier.from_settings(OidcSettings(issuer=oidc_issuer, audience="other"), http)
    try:
        with pytest.raises(InvalidToken) as caught:
            await strict.verify(await tokens.for_user("qa-reviewer"))
    finally:
        await http.aclose()
    assert caught.value.reason == "wrong-audience"


async def _failures(admin: httpx.AsyncClient, user_id: str, at_least: int) -> dict[str, Any]:
    """The realm's brute-force record of the user, once it counts ``at_least`` failures
    (Keycloak records them asynchronously)."""
    deadline = time.monotonic() + 30  # slow on a loaded machine
    while True:
        record: dict[str, Any] = (
            await admin.get(f"/attack-detection/brute-force/users/{user_id}")
        ).json()
        if record.get("numFailures", 0) >= at_least or time.monotonic() > deadline:
            return record
        await asyncio.sleep(0.2)


@pytest.mark.requirement("21CFR11.300(d)")
async def test_lockout_after_repeated_failures(
    tokens: TokenBroker, admin: httpx.AsyncClient, own_user: tuple[str, str, str]
) -> None:
    username, password, user_id = own_user
    await tokens.password_grant(username, password)  # the account works
    for attempt in range(1, FAILURE_FACTOR + 1):
        with pytest.raises(TokenRequestError):
            await tokens.password_grant(username, f"wrong-password-{attempt}")
        record = await _failures(admin, user_id, attempt)
        assert record["numFailures"] == attempt
        # Locked exactly at the failure factor, not before.
        assert record["disabled"] is (attempt == FAILURE_FACTOR), record
        # Slower than the realm's quick-login check, which would lock it early.
        await asyncio.sleep(REALM["quickLoginCheckMilliSeconds"] / 1000 + 0.1)
    with pytest.raises(TokenRequestError) as caught:  # the right password, while locked
        await tokens.password_grant(username, password)
    assert caught.value.error == "invalid_grant"


@pytest.mark.requirement("21CFR11.300(b)")
@pytest.mark.parametrize(
    ("new_password", "error"),
    [
        ("short-pw", "invalidPasswordMinLengthMessage"),
        ("<username>", "invalidPasswordNotUsernameMessage"),
        ("<current>", "invalidPasswordHistoryMessage"),
    ],
)
async def test_password_policy(
    admin: httpx.AsyncClient, own_user: tuple[str, str, str], new_password: str, error: str
) -> None:
    username, password, user_id = own_user
    value = new_password.replace("<username>", username).replace("<current>", password)
    refused = await admin.put(
        f"/users/{user_id}/reset-password",
        json={"type": "password", "value": value, "temporary": False},
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == error


@pytest.mark.requirement("21CFR11.300(b)")
async def test_realm_security_settings_are_live(admin: httpx.AsyncClient) -> None:
    realm = (await admin.get("")).json()
    policy = realm["passwordPolicy"]
    for rule in ("length(12)", "passwordHistory(", "forceExpiredPasswordChange(90)"):
        assert rule in policy
    assert realm["bruteForceProtected"] is True and realm["failureFactor"] == FAILURE_FACTOR
    assert (realm["otpPolicyType"], realm["otpPolicyDigits"]) == ("totp", 6)


def test_the_stack_shows_keycloak(stack: ProvisionedStack) -> None:
    if stack.sources["keycloak"] != "native":
        assert stack.oidc_issuer  # an external provider: nothing of ours to show
        return
    assert stack.data_dir is not None
    live = Stack(StackConfig(data_dir=stack.data_dir))
    rows = {row.name: row for row in live.status()}
    assert rows["keycloak"].state == "running"
    assert rows["keycloak"].endpoint == stack.oidc_issuer
    assert "admin console" in rows["keycloak"].detail
    endpoints = json.loads((stack.data_dir / "endpoints.json").read_text())
    assert endpoints["oidc_issuer"] == stack.oidc_issuer
