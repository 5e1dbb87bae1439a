"""Tokens forged locally for tests: a throwaway issuer with its own keys, so unit tests of
the verifier and of services need no identity provider. Test code only."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from .settings import OidcSettings
from .verifier import TokenVerifier

ISSUER = "https://idp.test/realms/vein2vein"
AUDIENCE = "vein2vein-api"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: PrivateKey

    def public_jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


def rsa_key(kid: str | None = None, alg: str = "RS256") -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(kid or uuid.uuid4().hex, alg, private)


def ec_key(kid: str | None = None) -> SigningKey:
    return SigningKey(kid or uuid.uuid4().hex, "ES256", ec.generate_private_key(ec.SECP256R1()))


@dataclass
class LocalIssuer:
    """Signs tokens like the platform's Keycloak realm would, and serves its key set."""

    issuer: str = ISSUER
    audience: str = AUDIENCE
    keys: list[SigningKey] = field(default_factory=lambda: [rsa_key()])
    fetches: int = 0

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.keys]}

    async def fetch(self) -> Mapping[str, Any]:
        """The KeySource protocol: hand the key set to a JwksCache without HTTP."""
        self.fetches += 1
        return self.jwks()

    def claims(self, *, lifetime_s: int = 300, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(uuid.uuid4()),
            "iat": now,
            "exp": now + lifetime_s,
            "azp": "vein2vein-portal",
            "preferred_username": "qa-reviewer",
            "name": "Quinn Avery",
            "realm_access": {"roles": ["qa-reviewer"]},
            "sites": ["manufacturing-site-1"],
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}  # None drops a claim

    def token(
        self,
        key: SigningKey | None = None,
        *,
        headers: Mapping[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        signer = key or self.keys[0]
        return jwt.encode(
            self.claims(**claims),
            signer.private,
            algorithm=signer.alg,
            headers={"kid": signer.kid, **(headers or {})},
        )

    def settings(self, **overrides: Any) -> OidcSettings:
        return OidcSettings(issuer=self.issuer, audience=self.audience, **overrides)

    def verifier(self, **overrides: Any) -> TokenVerifier:
        return TokenVerifier.with_key_source(self.settings(**overrides), self)
