"""The provider's signing keys: found through OpenID discovery, cached, re-fetched when they
age or when a token names a key id we do not know (the provider rotated its keys) — at most
every few seconds, so a flood of made-up key ids cannot hammer the provider."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from .errors import InvalidToken, ProviderUnavailable

log = logging.getLogger("v2v.auth")

# What key each algorithm needs: (kty, crv); None: any RSA key.
_KEY_FOR_ALGORITHM: dict[str, tuple[str, str | None]] = {
    **{f"{family}{bits}": ("RSA", None) for family in ("RS", "PS") for bits in (256, 384, 512)},
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", "Ed25519"),
}


class KeySource(Protocol):
    async def fetch(self) -> Mapping[str, Any]:
        """The JWK set (``{"keys": [...]}``); raises ProviderUnavailable."""
        ...


class DiscoveryKeySource:
    """Discovery document → ``jwks_uri`` → JWK set, over HTTP(S)."""

    def __init__(self, issuer: str, discovery_url: str, client: httpx.AsyncClient) -> None:
        self.issuer = issuer
        self.discovery_url = discovery_url
        self._client = client
        self._jwks_uri: str | None = None

    async def fetch(self) -> Mapping[str, Any]:
        if self._jwks_uri is None:
            document = await self._get_json(self.discovery_url)
            if document.get("issuer") != self.issuer:
                raise ProviderUnavailable(
                    f"the discovery document {self.discovery_url} names issuer "
                    f"{document.get('issuer')!r}, not the configured {self.issuer!r}"
                )
            jwks_uri = document.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
                raise ProviderUnavailable(f"{self.discovery_url} names no jwks_uri")
            self._jwks_uri = jwks_uri
        try:
            return await self._get_json(self._jwks_uri)
        except ProviderUnavailable:
            self._jwks_uri = None  # rediscover next time: the provider may have moved it
            raise

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"{url} could not be reached ({type(exc).__name__})"
            ) from None
        if response.status_code != 200:
            raise ProviderUnavailable(f"{url} answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ProviderUnavailable(f"{url} did not answer JSON") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"{url} did not answer a JSON object")
        return body


def signing_keys(jwks: Mapping[str, Any], algorithms: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The usable signature keys by key id: public asymmetric keys only (never ``oct``,
    never ``use: enc``), and only those whose declared ``alg`` we accept."""
    keys: dict[str, dict[str, Any]] = {}
    entries = jwks.get("keys")
    for jwk in entries if isinstance(entries, list) else []:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("kty") not in ("RSA", "EC", "OKP") or jwk.get("use", "sig") != "sig":
            continue
        if "alg" in jwk and jwk["alg"] not in algorithms:
            continue
        keys.setdefault(jwk["kid"], jwk)
    return keys


def key_for(jwk: Mapping[str, Any], alg: str) -> PyJWK:
    """``jwk`` bound to ``alg``, if it may verify that algorithm (no alg/key-type mixing)."""
    kty, crv = _KEY_FOR_ALGORITHM[alg]
    declared = jwk.get("alg")
    if (declared is not None and declared != alg) or jwk.get("kty") != kty:
        raise InvalidToken("algorithm-mismatch", "the token's algorithm does not fit its key")
    if crv is not None and jwk.get("crv") != crv:
        raise InvalidToken("algorithm-mismatch", "the token's algorithm does not fit its key")
    try:
        return PyJWK(dict(jwk), algorithm=alg)
    except PyJWTError:
        raise InvalidToken("bad-key", "the provider's key for this token is unusable") from None


class JwksCache:
    def __init__(
        self,
        source: KeySource,
        *,
        algorithms: tuple[str, ...],
        ttl_s: float,
        min_refresh_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._algorithms = algorithms
        self._ttl = ttl_s
        self._min_interval = min_refresh_interval_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._keys: dict[str, dict[str, Any]] = {}
        self._bound: dict[tuple[str, str], PyJWK] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._last_failure: ProviderUnavailable | None = None
        self.fetches = 0  # how often the provider was asked (tests, diagnostics)

    async def key(self, kid: str, alg: str) -> PyJWK:
        """The key ``kid`` for ``alg``: InvalidToken if the provider has no such key,
        ProviderUnavailable if its keys cannot be fetched."""
        if self._stale():
            await self._refresh(reason="expired")
        elif kid not in self._keys:
            await self._refresh(reason="unknown key id")
        jwk = self._keys.get(kid)
        if jwk is None:
            raise InvalidToken("unknown-key", "the token is signed with a key the provider lacks")
        bound = self._bound.get((kid, alg))
        if bound is None:
            bound = self._bound[(kid, alg)] = key_for(jwk, alg)
        return bound

    def _stale(self) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= self._ttl

    async def _refresh(self, *, reason: str) -> None:
        attempted = self._attempted_at
        async with self._lock:
            last = self._attempted_at
            # Another request asked while we waited, or someone asked moments ago: that
            # answer stands (and a provider that was down is not asked again yet).
            recent = last is not None and self._clock() - last < self._min_interval
            if last is not None and (last != attempted or recent):
                if self._last_failure is not None and not self._keys:
                    raise ProviderUnavailable(self._last_failure.detail)
                return
            self._attempted_at = self._clock()
            self.fetches += 1
            try:
                jwks = await self._source.fetch()
            except ProviderUnavailable as exc:
                self._last_failure = exc
                if self._keys:
                    # Keys known before still verify tokens they signed: an outage of the
                    # provider does not stop the platform (tokens expire within minutes).
                    log.warning("keeping cached signing keys: %s", exc.detail)
                    return
                raise
            self._last_failure = None
            self._keys = signing_keys(jwks, self._algorithms)
            self._bound.clear()
            self._loaded_at = self._clock()
            log.info("signing keys fetched (%s): %d usable", reason, len(self._keys))
