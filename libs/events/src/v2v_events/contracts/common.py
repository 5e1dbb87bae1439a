"""Value objects shared by several contracts."""

from __future__ import annotations

from pydantic import Field

from ..registry import Contract


class Actor(Contract):
    """Who did it: every command and event records the person (or system) and their role."""

    user_id: str = Field(min_length=1, max_length=128)
    role: str = Field(min_length=1, max_length=64)
