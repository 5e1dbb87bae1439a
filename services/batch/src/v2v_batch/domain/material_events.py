"""Domain events of supplied materials — the material master, material lots and what a
batch consumed of them (internal: stored as ``batch.<kind>``; the application maps
releases and rejections to the public contracts in v2v_events.contracts.batch).

Three kinds of stream, none starting with ``material-`` (the apheresis unit's stream):
``matdef-<material code>``, ``matlot-<lot id>`` and ``batchmat-<batch id>``."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from v2v_runtime.domain import DomainEvent

from .events import Operator


class MaterialType(StrEnum):
    REAGENT = "reagent"
    VECTOR = "vector"
    MEDIUM = "medium"
    CONSUMABLE = "consumable"
    KIT = "kit"


class StorageCondition(StrEnum):
    """Where the material is kept (labels of typical GMP storage classes)."""

    AMBIENT = "ambient-15-25C"
    REFRIGERATED = "refrigerated-2-8C"
    FROZEN_MINUS_20 = "frozen-minus-20C"
    FROZEN_MINUS_80 = "frozen-minus-80C"
    CRYOGENIC = "cryogenic-le-minus-150C"


# --- material master (stream matdef-<code>) ----------------------------------------------


class MaterialDefined(DomainEvent):
    kind = "material-defined"

    material_code: str
    name: str
    material_type: MaterialType
    storage_condition: StorageCondition
    unit: str  # the unit its lots are counted in (or one of the same dimension)
    defined_at: AwareDatetime
    defined_by: Operator


# --- material lot (stream matlot-<lot id>) -----------------------------------------------


class MaterialLotReceived(DomainEvent):
    """A supplier's lot arrived at a site: in quarantine until QA releases it."""

    kind = "material-lot-received"

    lot_id: str
    material_code: str
    material_type: MaterialType
    storage_condition: StorageCondition
    site: str
    supplier: str
    supplier_lot: str
    quantity: float = Field(gt=0)
    unit: str
    expires_at: AwareDatetime
    certificate_ref: str
    received_at: AwareDatetime
    received_by: Operator


class MaterialLotReleased(DomainEvent):
    """QA released the lot for use, signed (meaning released)."""

    kind = "material-lot-released"

    released_at: AwareDatetime
    released_by: Operator
    signature_id: str
    note: str | None = None


class MaterialLotRejected(DomainEvent):
    """QA rejected the lot, signed (meaning rejected): it is never used again."""

    kind = "material-lot-rejected"

    reason: str
    rejected_at: AwareDatetime
    rejected_by: Operator
    signature_id: str


class MaterialLotConsumed(DomainEvent):
    """A batch used ``quantity`` of the lot (in the lot's unit); ``remaining`` is left."""

    kind = "material-lot-consumed"

    batch_id: str
    step: str
    quantity: float = Field(gt=0)
    remaining: float = Field(ge=0)
    used_at: AwareDatetime


# --- a batch's materials (stream batchmat-<batch id>) ------------------------------------


class MaterialConsumed(DomainEvent):
    """At ``step`` of the batch, ``quantity`` ``unit`` of material lot ``lot_id`` was used
    (``lot_quantity``: the same in the lot's unit)."""

    kind = "material-consumed"

    lot_id: str
    material_code: str
    step: str
    quantity: float = Field(gt=0)
    unit: str
    lot_quantity: float = Field(gt=0)
    lot_unit: str
    coi: str
    site: str
    used_at: AwareDatetime
    used_by: Operator


class MaterialScanRefused(DomainEvent):
    """A lot scanned for use at ``step`` was refused (``code``: why). The control working,
    kept in the batch's record; not a deviation."""

    kind = "material-scan-refused"

    step: str
    material_code: str
    lot_id: str
    quantity: float
    unit: str
    code: str
    reason: str
    field: str | None = None
    refused_at: AwareDatetime
    scanned_by: Operator


MATERIAL_EVENTS: tuple[type[DomainEvent], ...] = (
    MaterialDefined,
    MaterialLotReceived,
    MaterialLotReleased,
    MaterialLotRejected,
    MaterialLotConsumed,
    MaterialConsumed,
    MaterialScanRefused,
)
