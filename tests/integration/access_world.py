"""The four services in-process (ASGI, SQLite) trusting the test stack's real Keycloak, for
the access tests: role matrix, site scoping, patient identity, segregation of duties."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from v2v_batch.bootstrap import build as build_batch
from v2v_batch.settings import BatchSettings
from v2v_cli.tokens import DEMO_PASSWORD, DEMO_SECRETS, SIGNING_CLIENT, TokenBroker
from v2v_custody.bootstrap import build as build_custody
from v2v_custody.settings import CustodySettings
from v2v_logistics.bootstrap import build as build_logistics
from v2v_logistics.settings import LogisticsSettings
from v2v_qc.bootstrap import build as build_qc
from v2v_qc.settings import QcSettings
from v2v_runtime.auth import OidcSettings, TokenVerifier
from v2v_runtime.auth.jwks import DiscoveryKeySource
from v2v_runtime.auth.testing import LocalIssuer
from v2v_runtime.authz import MACHINES, declared_roles
from v2v_runtime.service import ServiceSpec
from v2v_runtime.signatures.reauth import PasswordGrant
from v2v_runtime.testing import ServiceHarness, cosigned

PROBLEM = "urn:vein2vein:problem:"

BUILD: dict[str, tuple[Callable[..., ServiceSpec], Callable[[str], Any]]] = {
    "custody": (build_custody, lambda url: CustodySettings(database_url=url)),
    "logistics": (build_logistics, lambda url: LogisticsSettings(database_url=url)),
    "batch": (build_batch, lambda url: BatchSettings(database_url=url)),
    "qc": (build_qc, lambda url: QcSettings(database_url=url)),
}


def spec_of(service: str, url: str = "sqlite+aiosqlite:///:memory:") -> ServiceSpec:
    build, settings = BUILD[service]
    return build(settings(url))


def declarations() -> dict[tuple[str, str], set[str]]:
    """(service, "METHOD /path") -> the roles declared on it, for every service route."""
    found: dict[tuple[str, str], set[str]] = {}
    for service in BUILD:
        api = FastAPI()
        for router in spec_of(service).api_routers:
            api.include_router(router)
        for r in declared_roles(api):
            found[(service, f"{r.method} {r.path}")] = set(r.roles)
    return found


class ProviderKeys:
    """The provider's key set as the services fetch it, plus a second signing key the test
    holds (as during a key rollover): tokens the provider cannot be asked for — expired
    ones — are signed with it, and a valid one shows the key itself is trusted."""

    def __init__(self, discovery: DiscoveryKeySource, second: LocalIssuer) -> None:
        self.discovery = discovery
        self.second = second

    async def fetch(self) -> Mapping[str, Any]:
        jwks = await self.discovery.fetch()
        return {"keys": [*jwks["keys"], *self.second.jwks()["keys"]]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    harnesses: dict[str, ServiceHarness]
    broker: TokenBroker
    second: LocalIssuer

    def client(self, service: str) -> httpx.AsyncClient:
        return self.harnesses[service].client(headers={})

    async def token(self, who: str) -> str:
        """A demo user's (or machine client's) token: one per session, renewed near expiry."""
        if who in MACHINES:
            return await self.broker.for_client(who)
        return await self.broker.for_user(who)

    async def as_(self, who: str) -> dict[str, str]:
        return bearer(await self.token(who))

    async def post(self, service: str, path: str, body: Any, who: str) -> httpx.Response:
        async with self.client(service) as c:
            return await c.post(path, json=body, headers=await self.as_(who))

    async def signed(
        self,
        service: str,
        path: str,
        body: Any,
        who: str,
        password: str = DEMO_PASSWORD,
        signer: str | None = None,
        also: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """A signed act on ``who``'s session (shown: 428; then signed with user id and
        password by ``signer``, by default ``who``: another person on the same tablet);
        ``also``: the demo users signing the act's other fields (e.g. a handoff's receiving
        party, ``counter_signature``), with the demo password."""
        signers = {"signature": signer or who, **(also or {})}
        passwords = {name: DEMO_PASSWORD for name in signers} | {"signature": password}
        async with self.client(service) as c:
            headers = await self.as_(who)
            return await cosigned(c, path, body, headers, signers=signers, passwords=passwords)

    async def review_trail(self, lot_id: str, coi: str, who: str) -> httpx.Response:
        """QA's audit-trail review of a lot: each service's head of the CoI as its trail
        shows it (a service with no record of it here, e.g. a lot made up for a test: a
        placeholder head, which QC — that heard of none over Kafka — accepts)."""
        parts = []
        for service in ("batch", "custody", "qc"):
            r = await self.get(service, "/audit-trail", who, coi=coi, limit=1)
            head = r.json().get("head") if r.status_code == 200 else None
            at = {"position": 1, "hash": "0" * 64} if head is None else head
            parts.append({"service": service, "position": at["position"], "hash": at["hash"]})
        body = {"parts": parts, "comment": "batch, custody and QC trails reviewed"}
        return await self.signed("qc", f"/lots/{lot_id}/audit-trail-review", body, who)

    async def get(self, service: str, path: str, who: str, **params: Any) -> httpx.Response:
        async with self.client(service) as c:
            return await c.get(path, params=params, headers=await self.as_(who))


@asynccontextmanager
async def open_world(data: Path, issuer: str, broker: TokenBroker) -> AsyncIterator[World]:
    settings = OidcSettings(issuer=issuer)
    second = LocalIssuer(issuer=issuer, audience=settings.audience)
    async with httpx.AsyncClient(timeout=10) as http:
        keys = ProviderKeys(DiscoveryKeySource(issuer, settings.discovery, http), second)
        verifier = TokenVerifier.with_key_source(settings, keys)
        harnesses = {}
        for service in BUILD:
            spec = spec_of(service, ServiceHarness.sqlite_url(data, service))
            # Signers re-authenticate at the real Keycloak (the demo realm's signing client).
            signing = PasswordGrant(
                token_url=None,
                discovery_url=settings.discovery,
                client_id=SIGNING_CLIENT,
                client_secret=DEMO_SECRETS[SIGNING_CLIENT],
            )
            harnesses[service] = ServiceHarness(
                replace(spec, token_verifier=verifier, reauthenticator=signing)
            )
            await harnesses[service].start()
        try:
            yield World(harnesses, broker, second)
        finally:
            for h in harnesses.values():
                await h.close()


@asynccontextmanager
async def own_user(
    admin: httpx.AsyncClient, roles: list[str], sites: list[str]
) -> AsyncIterator[tuple[str, str]]:
    """A user of this test alone with ``roles`` at ``sites``: (username, password); removed
    afterwards (shared demo users are never changed)."""
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
            "attributes": {"sites": sites},
            "credentials": [{"type": "password", "value": password, "temporary": False}],
        },
    )
    assert created.status_code == 201, created.text
    user_id = created.headers["Location"].rsplit("/", 1)[1]
    try:
        reps = []
        for role in roles:
            r = await admin.get(f"/roles/{role}")
            assert r.status_code == 200, r.text
            reps.append(r.json())
        mapped = await admin.post(f"/users/{user_id}/role-mappings/realm", json=reps)
        assert mapped.status_code == 204, mapped.text
        yield username, password
    finally:
        await admin.delete(f"/users/{user_id}")
