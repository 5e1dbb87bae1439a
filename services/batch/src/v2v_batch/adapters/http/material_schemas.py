"""Request bodies of the supplied-materials API (responses are the application's views)."""

from __future__ import annotations

from pydantic import Field

from v2v_events.contracts.common import BoundedDatetime
from v2v_runtime.signatures.model import SignatureRequest

from ...domain.material_events import MaterialType, StorageCondition
from ...domain.material_master import MATERIAL_CODE_PATTERN
from ...domain.material_units import QUANTITY_MAX, QUANTITY_MIN, UNITS
from .schemas import Id, _Body

MaterialCode = Field(pattern=MATERIAL_CODE_PATTERN, description="the material master's code")
Unit = Field(min_length=1, max_length=16, description=f"one of {', '.join(UNITS)}")
Quantity = Field(ge=QUANTITY_MIN, le=QUANTITY_MAX, allow_inf_nan=False)


class MaterialBody(_Body):
    material_code: str = MaterialCode
    name: str = Field(min_length=1, max_length=200)
    material_type: MaterialType
    storage_condition: StorageCondition
    unit: str = Field(
        min_length=1, max_length=16, description="the unit its lots are counted in (or convert to)"
    )


class ReceiptBody(_Body):
    material_code: str = MaterialCode
    site: str = Id
    supplier: str = Id
    supplier_lot: str = Id
    quantity: float = Quantity
    unit: str = Unit
    expires_at: BoundedDatetime = Field(
        description="when the lot expires (the supplier's expiry, end of day at the site)"
    )
    certificate_ref: str = Field(
        min_length=1, max_length=128, description="the supplier's certificate of analysis"
    )


class ReleaseBody(_Body):
    """QA's release (meaning released); without a signature: 428 with the content to sign."""

    note: str | None = Field(None, min_length=1, max_length=2000)
    signature: SignatureRequest | None = None


class RejectionBody(_Body):
    """QA's rejection (meaning rejected); without a signature: 428 with the content."""

    reason: str = Field(min_length=1, max_length=2000)
    signature: SignatureRequest | None = None


class ConsumptionBody(_Body):
    """A lot scanned at the step being performed: the material the step asks for, the
    lot's id (its label) and how much of it."""

    material_code: str = MaterialCode
    lot_id: str = Id
    quantity: float = Quantity
    unit: str = Unit
