"""Discovery and the key cache over real HTTP (a tiny local server plays the provider):
keys found through the discovery document, cached, refreshed when they age, kept through an
outage, and a provider that is down reported as such (not as a bad token)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from v2v_runtime.auth import (
    DiscoveryKeySource,
    InvalidToken,
    JwksCache,
    ProviderUnavailable,
    TokenVerifier,
)
from v2v_runtime.auth.jwks import signing_keys
from v2v_runtime.auth.testing import LocalIssuer, ec_key, rsa_key

WELL_KNOWN = "/realms/vein2vein/.well-known/openid-configuration"
CERTS = "/realms/vein2vein/protocol/openid-connect/certs"


@dataclass
class FakeProvider:
    """Answers GET <path> from ``routes``: (status, a JSON-able body or raw bytes)."""

    base: str = ""
    routes: dict[str, tuple[int, Any]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"{self.base}/realms/vein2vein"

    def publish(self, idp: LocalIssuer) -> None:
        self.routes[WELL_KNOWN] = (200, {"issuer": self.issuer, "jwks_uri": self.base + CERTS})
        self.routes[CERTS] = (200, idp.jwks())


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            provider.hits.append(self.path)
            status, body = provider.routes.get(self.path, (404, {"error": "not found"}))
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2) as client:
        yield client


def _verifier(provider: FakeProvider, http: httpx.AsyncClient, **settings: Any) -> TokenVerifier:
    idp = LocalIssuer(issuer=provider.issuer)
    return TokenVerifier.from_settings(idp.settings(**settings), http)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_keys_through_discovery(provider: FakeProvider, http: httpx.AsyncClient) -> None:
    idp = LocalIssuer(issuer=provider.issuer, keys=[rsa_key(), ec_key()])
    provider.publish(idp)
    verifier = TokenVerifier.from_settings(idp.settings(), http)
    for key in idp.keys:
        assert (await verifier.verify(idp.token(key))).username == "qa-reviewer"
    assert provider.hits == [WELL_KNOWN, CERTS]  # once, then cached


async def test_a_verifier_closes_the_client_it_made(provider: FakeProvider) -> None:
    idp = LocalIssuer(issuer=provider.issuer)
    provider.publish(idp)
    verifier = TokenVerifier.from_settings(idp.settings())
    assert (await verifier.verify(idp.token())).username == "qa-reviewer"
    await verifier.aclose()
    with pytest.raises(RuntimeError):  # httpx refuses requests on a closed client
        await verifier.keys._source.fetch()  # type: ignore[attr-defined]


async def test_discovery_must_name_the_configured_issuer(
    provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    idp = LocalIssuer(issuer=provider.issuer)
    provider.publish(idp)
    provider.routes[WELL_KNOWN] = (200, {"issuer": "https://other", "jwks_uri": "x"})
    with pytest.raises(ProviderUnavailable, match="names issuer 'https://other'"):
        await TokenVerifier.from_settings(idp.settings(), http).verify(idp.token())


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, {"error": "boom"}, "answered HTTP 500"),
        (200, b"<html>maintenance</html>", "did not answer JSON"),
        (200, [1, 2], "did not answer a JSON object"),
    ],
)
async def test_provider_answers_badly(
    provider: FakeProvider, http: httpx.AsyncClient, status: int, body: Any, message: str
) -> None:
    idp = LocalIssuer(issuer=provider.issuer)
    provider.routes[WELL_KNOWN] = (status, body)
    with pytest.raises(ProviderUnavailable, match=message):
        await TokenVerifier.from_settings(idp.settings(), http).verify(idp.token())


async def test_provider_down(http: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    idp = LocalIssuer(issuer=f"http://127.0.0.1:{port}/realms/vein2vein")
    verifier = TokenVerifier.from_settings(idp.settings(), http)
    with pytest.raises(ProviderUnavailable, match="could not be reached"):
        await verifier.verify(idp.token())


async def test_keys_age_out_and_survive_an_outage(
    provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    idp = LocalIssuer(issuer=provider.issuer)
    provider.publish(idp)
    clock = Clock()
    source = DiscoveryKeySource(provider.issuer, provider.base + WELL_KNOWN, http)
    cache = JwksCache(
        source, algorithms=("RS256",), ttl_s=600, min_refresh_interval_s=10, clock=clock
    )
    verifier = TokenVerifier(idp.settings(), cache)
    await verifier.verify(idp.token())
    clock.now += 599
    await verifier.verify(idp.token())
    assert cache.fetches == 1
    clock.now += 2  # aged out: fetched again
    await verifier.verify(idp.token())
    assert cache.fetches == 2

    provider.routes[CERTS] = (503, {"error": "down"})
    clock.now += 601
    # The provider is down, but the key it published still verifies its tokens.
    assert (await verifier.verify(idp.token())).username == "qa-reviewer"
    assert cache.fetches == 3
    # ...and a key id it never published is still a bad token, not an outage.
    with pytest.raises(InvalidToken):
        await verifier.verify(idp.token(rsa_key()))


async def test_a_down_provider_is_asked_at_most_every_interval(
    provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    idp = LocalIssuer(issuer=provider.issuer)
    provider.routes[WELL_KNOWN] = (503, {"error": "down"})
    clock = Clock()
    source = DiscoveryKeySource(provider.issuer, provider.base + WELL_KNOWN, http)
    cache = JwksCache(
        source, algorithms=("RS256",), ttl_s=600, min_refresh_interval_s=10, clock=clock
    )
    verifier = TokenVerifier(idp.settings(), cache)
    for _ in range(5):
        with pytest.raises(ProviderUnavailable):
            await verifier.verify(idp.token())
    assert len(provider.hits) == 1
    provider.publish(idp)  # back up
    clock.now += 10
    assert (await verifier.verify(idp.token())).username == "qa-reviewer"


async def test_concurrent_requests_fetch_once(
    provider: FakeProvider, http: httpx.AsyncClient
) -> None:
    idp = LocalIssuer(issuer=provider.issuer)
    provider.publish(idp)
    verifier = TokenVerifier.from_settings(idp.settings(), http)
    results = await asyncio.gather(*(verifier.verify(idp.token()) for _ in range(20)))
    assert {p.username for p in results} == {"qa-reviewer"}
    assert provider.hits == [WELL_KNOWN, CERTS]


def test_only_public_signature_keys_are_kept() -> None:
    good = rsa_key("good").public_jwk()
    jwks = {
        "keys": [
            good,
            {**rsa_key("enc").public_jwk(), "use": "enc", "alg": "RSA-OAEP"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256"},
            {**ec_key("es").public_jwk()},
            {**rsa_key("rs512").public_jwk(), "alg": "RS512"},
            {"kty": "RSA"},  # no kid
            "not a key",
        ]
    }
    assert set(signing_keys(jwks, ("RS256", "ES256"))) == {"good", "es"}
    assert signing_keys({"keys": "nope"}, ("RS256",)) == {}
