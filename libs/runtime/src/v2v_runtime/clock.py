"""Clock and id generator, injected everywhere (no hidden ``datetime.now()``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class UuidGenerator:
    def new_id(self) -> str:
        return str(uuid.uuid4())
