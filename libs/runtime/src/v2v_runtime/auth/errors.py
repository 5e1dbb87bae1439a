"""Why a request carries no acceptable identity: the caller's token (401) or the identity
provider (503). Pure: no I/O imports, so any layer may raise them."""

from __future__ import annotations


class AuthError(Exception):
    status: int = 401
    title: str = "Unauthenticated"
    code: str = "invalid-token"  # the problem type: urn:vein2vein:problem:<code>

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidToken(AuthError):
    """Missing, malformed, forged, expired or not meant for us: the caller must (re)login.

    ``reason`` is a stable code for clients and logs (e.g. ``expired``, ``wrong-audience``);
    ``detail`` never quotes the token, which is the caller's credential."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class ProviderUnavailable(AuthError):
    """The identity provider's keys could not be fetched: not the caller's fault."""

    status = 503
    title = "Identity provider unavailable"
    code = "identity-provider-unavailable"
