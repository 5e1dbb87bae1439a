"""What `v2v audit verify` reports, and the hook for service-specific read-model checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Finding:
    """One piece of evidence. ``stream_id`` names what ``subject`` is about: a stream (the
    default), a seal (``#3``), the store (its service) or a read-model row (its key). A
    finding never quotes patient-identifying data: it names fields, not their values."""

    stream_id: str
    problem: str
    version: int | None = None
    event_id: str | None = None
    position: int | None = None
    subject: str = "stream"

    def __str__(self) -> str:
        where = f"{self.subject} {self.stream_id}"
        if self.version is not None:
            where += f" version {self.version}"
        if self.event_id:
            where += f" (event {self.event_id}, position {self.position})"
        return f"{where}: {self.problem}"


@dataclass
class CheckResult:
    name: str  # e.g. "patient_identity rows against the identity events"
    checked: int
    findings: list[Finding] = field(default_factory=list)


Check = Callable[[AsyncSession], Awaitable[CheckResult]]
"""A service's read-model check, run inside the verifier's snapshot."""
