"""Showing a patient's identity is itself recorded: who, when, which CoI (an event on the
identity stream, hash-chained like the identity)."""

from __future__ import annotations

from typing import Any

from v2v_runtime.uow import UnitOfWork

from ..domain.identity import IdentityRecord, identity_stream


async def note_identity_read(uow: UnitOfWork, coi: str, who: dict[str, Any]) -> None:
    repo = uow.repository(IdentityRecord)
    record = await repo.find(identity_stream(coi))
    if record is None:  # no identity recorded (enrolled before identities were events)
        return
    record.viewed()
    await repo.save(record, who)
