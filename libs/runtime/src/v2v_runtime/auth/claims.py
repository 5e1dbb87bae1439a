"""Who a verified token speaks for: claims read through the configured paths into a
``Principal`` (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import InvalidToken
from .settings import OidcSettings

_MISSING = object()


@dataclass(frozen=True)
class Principal:
    """The person or machine client behind a request, as the identity provider vouches."""

    subject: str  # `sub`: stable id at the provider
    username: str  # the login (a machine: its client id)
    name: str | None  # the person's printed name, for records and signatures
    roles: frozenset[str]
    sites: frozenset[str]  # site / treatment-center ids the user belongs to
    machine: bool  # an OAuth client acting for itself (client credentials), not a person
    client_id: str | None  # `azp`: the client the token was issued to
    authenticated_at: datetime  # `auth_time`, else `iat` (direct grants carry no auth_time)
    expires_at: datetime
    issuer: str
    session_id: str | None = None  # `sid`: the sign-in session the token belongs to
    token_id: str | None = None  # `jti`

    def has_role(self, *roles: str) -> bool:
        """True if the principal holds any of ``roles``."""
        return not self.roles.isdisjoint(roles)


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path``, or None. At each level the longest run of segments that
    is a key wins, so a key containing dots (``extn.sites``) is found whole."""
    value = _walk(claims, path.split("."))
    return None if value is _MISSING else value


def _walk(node: Any, segments: list[str]) -> Any:
    if not segments:
        return node
    if not isinstance(node, Mapping):
        return _MISSING
    for end in range(len(segments), 0, -1):
        key = ".".join(segments[:end])
        if key in node:
            found = _walk(node[key], segments[end:])
            if found is not _MISSING:
                return found
    return _MISSING


def _strings(claims: Mapping[str, Any], path: str) -> frozenset[str]:
    """A list of strings, or one string of space-separated values (OAuth ``scope``/``scp``)."""
    value = claim_at(claims, path)
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    raise InvalidToken("malformed-claim", f"the token's {path} claim is not a list of strings")


def _text(claims: Mapping[str, Any], path: str) -> str | None:
    value = claim_at(claims, path)
    return value if isinstance(value, str) and value else None


def _is_machine(claims: Mapping[str, Any], rule: str) -> bool:
    path, sep, expected = rule.partition("=")
    value = claim_at(claims, path.strip())
    if not sep:
        return value not in (None, "", [])
    expected = expected.strip()
    return value == expected or (isinstance(value, list) and expected in value)


def _instant(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None


def principal_from_claims(claims: Mapping[str, Any], settings: OidcSettings) -> Principal:
    """Map verified claims (signature, issuer, audience and times already checked)."""
    subject = _text(claims, "sub")
    issued = _instant(claims.get("iat"))
    expires = _instant(claims.get("exp"))
    if subject is None or issued is None or expires is None:
        raise InvalidToken("malformed-claim", "the token lacks sub, iat or exp")
    roles: frozenset[str] = frozenset()
    for path in settings.roles_claim:
        roles |= _strings(claims, path)
    client_id = _text(claims, "azp")
    return Principal(
        subject=subject,
        username=_text(claims, settings.username_claim) or client_id or subject,
        name=_text(claims, settings.name_claim),
        roles=roles,
        sites=_strings(claims, settings.sites_claim),
        machine=_is_machine(claims, settings.machine_claim),
        client_id=client_id,
        authenticated_at=_instant(claims.get("auth_time")) or issued,
        expires_at=expires,
        issuer=str(claims.get("iss", settings.issuer)),
        session_id=_text(claims, "sid"),
        token_id=_text(claims, "jti"),
    )
