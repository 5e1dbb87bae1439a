"""Where tokens come from and how to read them (environment variables ``V2V_OIDC_*``).

Claim paths are dotted paths into the token (``realm_access.roles``); a key that itself
contains dots (Entra ID's ``extn.sites``) is matched whole. Defaults fit the vein2vein
Keycloak realm; docs/operations.md shows Microsoft Entra ID and Okta.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Asymmetric signatures only. HMAC (HS*) would verify with a key the provider publishes, so
# anyone could sign (key confusion); "none" is no signature at all.
SUPPORTED_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

CommaList = Annotated[tuple[str, ...], NoDecode]  # "a,b" in the environment


class OidcSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="V2V_OIDC_", extra="ignore", frozen=True)

    issuer: str = Field(description="the provider's issuer URL, exactly as tokens carry it (iss)")
    audience: str = Field("vein2vein-api", description="the platform's API: tokens' aud")
    discovery_url: str | None = Field(
        None,
        description="OpenID discovery document, if not <issuer>/.well-known/openid-configuration "
        "(e.g. the provider's in-cluster address); it must still name the issuer",
    )
    roles_claim: CommaList = Field(
        ("realm_access.roles",), description="claim path(s) holding roles; several are merged"
    )
    sites_claim: str = Field("sites", description="claim path of the user's site ids")
    name_claim: str = Field("name", description="claim path of the person's printed name")
    username_claim: str = Field("preferred_username", description="claim path of the login")
    machine_claim: str = Field(
        "client_id",
        description="marks a machine client's token: `path` (present) or `path=value`",
    )
    algorithms: CommaList = Field(
        SUPPORTED_ALGORITHMS, description="accepted signature algorithms (asymmetric only)"
    )
    leeway_s: float = Field(30, ge=0, le=300, description="clock skew allowed on exp/nbf/iat")
    jwks_cache_ttl_s: float = Field(600, gt=0, description="keys are re-fetched this often")
    jwks_refresh_min_interval_s: float = Field(
        10, ge=0, description="an unknown key id re-fetches the keys at most this often"
    )
    http_timeout_s: float = Field(5, gt=0, description="discovery and key fetches")
    max_token_bytes: int = Field(16384, ge=1024, description="longer tokens are refused")
    allow_insecure_http: bool = Field(
        False, description="allow http:// provider URLs beyond the loopback (never in production)"
    )

    @field_validator("roles_claim", "algorithms", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = [alg for alg in value if alg not in SUPPORTED_ALGORITHMS]
        if refused or not value:
            raise ValueError(
                f"accepted algorithms are among {', '.join(SUPPORTED_ALGORITHMS)} (never "
                f"'none' or an HMAC algorithm: the provider's keys are public); got {value}"
            )
        return value

    @field_validator("roles_claim")
    @classmethod
    def _some_roles_claim(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one roles claim path")
        return value

    @model_validator(mode="after")
    def _https(self) -> OidcSettings:
        for url in (self.issuer, self.discovery_url):
            if url is None:
                continue
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise ValueError(f"{url!r} is not an http(s) URL")
            if (
                parts.scheme == "http"
                and parts.hostname not in _LOOPBACK
                and not self.allow_insecure_http
            ):
                raise ValueError(
                    f"{url} is plain http: keys fetched that way can be forged in transit. Use "
                    "https, or set V2V_OIDC_ALLOW_INSECURE_HTTP=true on a closed network."
                )
        return self

    @property
    def discovery(self) -> str:
        return self.discovery_url or f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
