"""What every custody use case works with: repositories over one unit of work."""

from __future__ import annotations

from typing import Any

from v2v_events.contracts.common import Actor
from v2v_runtime.aggregate import Repository
from v2v_runtime.uow import UnitOfWork

from ..adapters.db.projector import CODEC, project
from ..domain.identity import IdentityRecord
from ..domain.patient import Patient
from ..domain.unit import Unit, UnknownUnitScans


def patients(uow: UnitOfWork) -> Repository[Patient]:
    return Repository(uow, Patient, CODEC, project)


def units(uow: UnitOfWork) -> Repository[Unit]:
    return Repository(uow, Unit, CODEC, project)


def identities(uow: UnitOfWork) -> Repository[IdentityRecord]:
    return Repository(uow, IdentityRecord, CODEC, project)


def unknown_scans(uow: UnitOfWork) -> Repository[UnknownUnitScans]:
    return Repository(uow, UnknownUnitScans, CODEC, project)


def who(actor: Actor) -> dict[str, Any]:
    """The actor as stored with every event."""
    return actor.model_dump(mode="json")
