"""Domain errors: raised by pure domain code, turned into RFC 9457 problems at the edge.

No I/O imports here, so domain modules may depend on it.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule refused the command. ``code`` names the rule (stable, for clients)."""

    status = 422
    title = "Refused by a domain rule"

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The command does not fit the current state (e.g. the lot is already released)."""

    status = 409
    title = "Conflicts with the current state"
