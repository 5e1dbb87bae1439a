"""``TokenVerifier.verify(token) -> Principal``: an OAuth 2.0 access token (JWT) from the
site's OpenID Connect provider, checked in-process with PyJWT against the provider's keys."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)

from .claims import Principal, principal_from_claims
from .errors import InvalidToken
from .jwks import DiscoveryKeySource, JwksCache, KeySource
from .settings import OidcSettings

log = logging.getLogger("v2v.auth")

_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
# PyJWT's verdicts, as stable reasons and messages that never quote the token.
_REFUSALS: list[tuple[type[PyJWTError], str, str]] = [
    (ExpiredSignatureError, "expired", "the token has expired"),
    (ImmatureSignatureError, "not-yet-valid", "the token is not valid yet"),
    (InvalidAudienceError, "wrong-audience", "the token is not meant for this API (aud)"),
    (InvalidIssuerError, "wrong-issuer", "the token comes from another issuer (iss)"),
    (InvalidSignatureError, "bad-signature", "the token's signature does not verify"),
    (InvalidAlgorithmError, "algorithm-mismatch", "the token's algorithm does not fit its key"),
]


class TokenVerifier:
    def __init__(
        self, settings: OidcSettings, keys: JwksCache, owned: httpx.AsyncClient | None = None
    ) -> None:
        self.settings = settings
        self.keys = keys
        self._owned = owned  # the HTTP client from_settings made, closed by aclose()

    @classmethod
    def from_settings(
        cls, settings: OidcSettings, client: httpx.AsyncClient | None = None
    ) -> TokenVerifier:
        """A verifier fetching keys through discovery (``client`` lets the caller share a
        connection pool and close it; by default one is created for the verifier)."""
        http = client or httpx.AsyncClient(timeout=settings.http_timeout_s)
        verifier = cls.with_key_source(
            settings, DiscoveryKeySource(settings.issuer, settings.discovery, http)
        )
        verifier._owned = None if client else http
        return verifier

    @classmethod
    def with_key_source(cls, settings: OidcSettings, source: KeySource) -> TokenVerifier:
        keys = JwksCache(
            source,
            algorithms=settings.algorithms,
            ttl_s=settings.jwks_cache_ttl_s,
            min_refresh_interval_s=settings.jwks_refresh_min_interval_s,
        )
        return cls(settings, keys)

    async def aclose(self) -> None:
        if self._owned is not None:
            await self._owned.aclose()

    async def verify(self, token: str) -> Principal:
        """The principal the token speaks for; InvalidToken (→ 401) when it does not hold,
        ProviderUnavailable (→ 503) when the provider's keys cannot be fetched."""
        try:
            return await self._verify(token)
        except InvalidToken as exc:
            log.info("bearer token refused: %s", exc.reason)
            raise

    async def _verify(self, token: str) -> Principal:
        s = self.settings
        if len(token) > s.max_token_bytes:
            raise InvalidToken("too-large", f"the token is longer than {s.max_token_bytes} bytes")
        if not token.isascii():
            raise InvalidToken("malformed", "the token is not a JWT")
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise InvalidToken("malformed", "the token is not a JWT") from None
        alg = header.get("alg")
        if alg not in s.algorithms:
            raise InvalidToken(
                "algorithm-not-allowed",
                f"the token's signature algorithm is not accepted ({', '.join(s.algorithms)})",
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("no-key-id", "the token names no signing key (kid)")
        key = await self.keys.key(kid, alg)
        claims = self._decode(token, key, alg)
        return principal_from_claims(claims, s)

    def _decode(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        s = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=s.audience,
                issuer=s.issuer,
                leeway=s.leeway_s,
                options={"require": _REQUIRED_CLAIMS},
            )
        except MissingRequiredClaimError as exc:
            raise InvalidToken("missing-claim", f"the token has no {exc.claim} claim") from None
        except PyJWTError as exc:
            for kind, reason, detail in _REFUSALS:
                if isinstance(exc, kind):
                    raise InvalidToken(reason, detail) from None
            raise InvalidToken("malformed", "the token's claims are malformed") from None
        return claims
