"""What the batch service shows of supplied materials: the material master, material lots
(status as of now: expiry applies by itself), a batch's materials, a lot's genealogy."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from v2v_runtime.signatures.model import SignatureView

from .views import Person


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class MaterialDefinitionView(_View):
    material_code: str
    name: str
    material_type: str
    storage_condition: str
    unit: str
    defined_at: datetime
    defined_by: Person


class MaterialLotView(_View):
    lot_id: str
    material_code: str
    material_type: str
    storage_condition: str
    site: str
    supplier: str
    supplier_lot: str
    certificate_ref: str
    received_quantity: float
    remaining_quantity: float
    unit: str
    expires_at: datetime
    status: str = Field(
        description="quarantine, released, rejected — or expired: a lot not rejected is "
        "expired from expires_at on, by the clock alone"
    )
    usable: bool = Field(description="released and not expired now")
    received_at: datetime
    received_by: Person
    decided_at: datetime | None = None
    decided_by: Person | None = None
    note: str | None = None
    rejection_reason: str | None = None
    # QA's release or rejection: printed name, time (UTC and the site's), meaning.
    signatures: list[SignatureView] = Field(default_factory=list)


class ConsumptionView(_View):
    batch_id: str
    coi: str
    site: str
    step: str
    lot_id: str
    material_code: str
    quantity: float
    unit: str
    lot_quantity: float
    lot_unit: str
    used_at: datetime
    used_by: Person


class RefusedScanView(_View):
    batch_id: str
    step: str
    material_code: str
    lot_id: str
    quantity: float
    unit: str
    code: str
    reason: str
    field: str | None
    refused_at: datetime
    scanned_by: Person


class BatchMaterialsView(_View):
    """Which lots went into a batch (and the scans refused at its steps)."""

    batch_id: str
    coi: str
    consumed: list[ConsumptionView]
    refused_scans: list[RefusedScanView]


class BatchUse(_View):
    """A batch that used the lot: its CoI, the final product lot if produced."""

    batch_id: str
    coi: str
    manufacturing_site: str
    status: str
    product_lot_id: str | None
    consumed: list[ConsumptionView]


class LotGenealogyView(_View):
    """For a recall: every batch and chain of identity that used the material lot."""

    lot: MaterialLotView
    batches: list[BatchUse]
    cois: list[str]
