"""Request bodies of master batch records and of executing a batch from one."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import BoundedDatetime
from v2v_runtime.signatures.model import SignatureRequest

from ...domain.entries import ValueEntry
from ...domain.execution_events import Disposition, UsedEquipment, UsedMaterial, Value
from ...domain.mbr_content import MbrContent
from ...domain.product import PRODUCT_CODE_PATTERN

Id = Field(min_length=1, max_length=128)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Empty(_Body):
    """An act with nothing to add: ``{}``."""


class Signed(_Body):
    """Only a signature (the act's content is the record's): 428 with the content first."""

    signature: SignatureRequest | None = None


class MbrDraftBody(_Body):
    """A new version of a product's MBR at a site, in draft (also the seed files' shape,
    without the site)."""

    product_code: str = Field(pattern=PRODUCT_CODE_PATTERN)
    site: str = Id
    content: MbrContent


class MbrContentBody(_Body):
    content: MbrContent


class ReasonBody(_Body):
    reason: str = Field(min_length=1, max_length=2000)


class ValueBody(_Body):
    value: Value
    unit: str | None = Field(None, min_length=1, max_length=32)

    def entry(self) -> ValueEntry:
        return ValueEntry(value=self.value, unit=self.unit)


class MaterialBody(_Body):
    material_code: str = Field(min_length=1, max_length=64)
    lot_id: str = Id
    quantity: float = Field(gt=0, le=1e15, allow_inf_nan=False)
    unit: str = Field(min_length=1, max_length=32)

    def used(self) -> UsedMaterial:
        return UsedMaterial(**self.model_dump())


class EquipmentBody(_Body):
    equipment_id: str = Id
    equipment_type: str = Field(min_length=1, max_length=64)

    def used(self) -> UsedEquipment:
        return UsedEquipment(**self.model_dump())


class PerformBody(_Body):
    """A step of the batch's MBR as performed, and its performer's signature."""

    room: str = Id
    started_at: BoundedDatetime
    ended_at: BoundedDatetime
    values: dict[str, ValueBody] = Field(default_factory=dict, max_length=50)
    materials: list[MaterialBody] = Field(default_factory=list, max_length=50)
    equipment: list[EquipmentBody] = Field(default_factory=list, max_length=20)
    comment: str | None = Field(None, min_length=1, max_length=2000)
    signature: SignatureRequest | None = None


class CorrectionBody(_Body):
    parameter: str = Field(min_length=1, max_length=64)
    value: Value
    unit: str | None = Field(None, min_length=1, max_length=32)
    reason: str = Field(min_length=1, max_length=2000)
    signature: SignatureRequest | None = None

    def entry(self) -> ValueEntry:
        return ValueEntry(value=self.value, unit=self.unit)


class DispositionBody(_Body):
    disposition: Disposition
    rationale: str = Field(min_length=1, max_length=4000)
    deviation_id: str | None = Field(None, min_length=1, max_length=128)
    signature: SignatureRequest | None = None
