"""Showing a patient's identity is itself recorded: who, when, which CoI (an event on the
identity stream, hash-chained like the identity)."""

from __future__ import annotations

from typing import Any

from v2v_runtime.uow import UnitOfWork

from ..domain.identity import IdentityRecord, coi_of, identity_stream


async def note_identity_read(uow: UnitOfWork, coi: str, who: dict[str, Any]) -> None:
    repo = uow.repository(IdentityRecord)
    record = await repo.find(identity_stream(coi))
    if record is None:  # no identity recorded (enrolled before identities were events)
        return
    record.viewed()
    await repo.save(record, who)


class IdentityInTrail:
    """Custody's identity in its audit trail (v2v_runtime IdentityDisclosure): the identity
    streams' values are patient-identifying; showing them is recorded like any read."""

    def holds_identity(self, stream_id: str) -> bool:
        return coi_of(stream_id) is not None

    async def note_read(self, uow: UnitOfWork, coi: str, who: dict[str, Any]) -> None:
        await note_identity_read(uow, coi, who)
