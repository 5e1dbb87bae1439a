"""Input rules the batch aggregates share: identifiers and viability percentages."""

from __future__ import annotations

import math
import re

from v2v_runtime.errors import DomainError

MAX_ID_LENGTH = 128  # identifiers become parts of stream ids (200 characters at most)


def check_identifier(name: str, value: str) -> None:
    if not value or not value.strip() or len(value) > MAX_ID_LENGTH:
        raise DomainError(
            f"invalid-{name.replace('_', '-')}",
            f"{name} must be 1 to {MAX_ID_LENGTH} characters",
            field=name,
        )


def check_viability(value: float | None, what: str) -> None:
    if value is not None and not (math.isfinite(value) and 0 <= value <= 100):
        raise DomainError("viability-out-of-range", f"{what} must be between 0 and 100 %")


def check_pattern(name: str, value: str, pattern: str) -> None:
    """Refuse ``value`` (named ``name``) unless it matches ``pattern`` entirely."""
    if not re.fullmatch(pattern, value):
        raise DomainError(
            f"invalid-{name.replace('_', '-')}", f"{name} must match {pattern}", field=name
        )


def check_text(name: str, value: str, limit: int = 200) -> None:
    """Refuse blank text or text longer than ``limit``."""
    if not value.strip() or len(value) > limit:
        raise DomainError(
            f"invalid-{name.replace('_', '-')}",
            f"{name} must be 1 to {limit} characters",
            field=name,
        )
