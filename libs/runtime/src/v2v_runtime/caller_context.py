"""The authenticated caller of the HTTP request being served, for what records them: every
event saved while serving it stores the caller's printed name and login beside the subject
id and role the use case passes (names change at the provider; the record keeps the name the
person had when they acted)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CallerRecord:
    user_id: str
    name: str
    username: str

    def enrich(self, actor: dict[str, Any]) -> dict[str, Any]:
        """``actor`` with this caller's name and login, if it is this caller."""
        if actor.get("user_id") != self.user_id:
            return actor
        return {**actor, "name": self.name, "username": self.username}


current_caller: ContextVar[CallerRecord | None] = ContextVar("v2v_caller", default=None)
