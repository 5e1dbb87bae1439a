"""Authentication: OAuth 2.0 bearer access tokens (JWT) from the site's OpenID Connect
provider, verified in-process against its published keys."""

from .claims import Principal, claim_at, principal_from_claims
from .dependency import CurrentPrincipal, current_principal, install_token_verifier
from .errors import AuthError, InvalidToken, ProviderUnavailable
from .jwks import DiscoveryKeySource, JwksCache, KeySource
from .settings import SUPPORTED_ALGORITHMS, OidcSettings
from .verifier import TokenVerifier

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "AuthError",
    "CurrentPrincipal",
    "DiscoveryKeySource",
    "InvalidToken",
    "JwksCache",
    "KeySource",
    "OidcSettings",
    "Principal",
    "ProviderUnavailable",
    "TokenVerifier",
    "claim_at",
    "current_principal",
    "install_token_verifier",
    "principal_from_claims",
]
