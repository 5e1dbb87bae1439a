"""Define a material in the material master (code, name, type, storage condition, unit)."""

from __future__ import annotations

from dataclasses import dataclass

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.material_events import MaterialType, StorageCondition
from ..domain.material_master import MaterialDefinition
from .common import operator, who


@dataclass(frozen=True)
class MaterialEntry:
    material_code: str
    name: str
    material_type: MaterialType
    storage_condition: StorageCondition
    unit: str


async def define_material(uow: UnitOfWork, entry: MaterialEntry, actor: Actor) -> bool:
    """True when defined now, False when it was defined so already (a repeat)."""
    definitions = uow.repository(MaterialDefinition)
    stream = MaterialDefinition.stream_for(entry.material_code)
    material = await definitions.find(stream) or MaterialDefinition(stream)
    created = material.define(
        name=entry.name,
        material_type=entry.material_type,
        storage_condition=entry.storage_condition,
        unit=entry.unit,
        defined_at=uow.clock.now(),
        defined_by=operator(actor),
    )
    await definitions.save(material, who(actor))
    return created
