"""What change control asks of the read models (bound to the unit of work's transaction)."""

from __future__ import annotations

from typing import Protocol

from v2v_events.contracts.change_control import ChangeSubject


class ChangeControls(Protocol):
    async def naming(
        self, kind: ChangeSubject, subject_id: str, site: str | None, version: int
    ) -> list[str]:
        """The change controls, not rejected, that name this version of the document."""
        ...

    async def effective_specs(self) -> frozenset[tuple[str, int]]:
        """(spec id, version) of the specification versions made effective by an
        implemented change control."""
        ...
