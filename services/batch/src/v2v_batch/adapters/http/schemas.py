"""Request bodies of the batch HTTP API (responses are the application's views)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.bounds import CELLS_MAX
from v2v_events.contracts.common import BoundedDatetime
from v2v_events.ids import DIN, CoI
from v2v_runtime.signatures.model import SignatureRequest

from ...domain import Step
from ...domain.product import PRODUCT_CODE_PATTERN

Id = Field(min_length=1, max_length=128)

# Counts are stored in INTEGER columns (PostgreSQL int4): larger values are refused with a
# 422 here instead of failing in the database.
INT32_MAX = 2**31 - 1


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpenBatchBody(_Body):
    coi: CoI
    apheresis_unit_id: str = Id
    din: DIN
    manufacturing_site: str = Id
    attempt: int = Field(1, ge=1, le=INT32_MAX)
    product_code: str | None = Field(
        None, pattern=PRODUCT_CODE_PATTERN, description="selects the product configuration"
    )


class StepBody(_Body):
    step: Step
    equipment_id: str | None = Field(None, min_length=1, max_length=128)
    # Within the reported-time window: ended by now, not older than the maximum age.
    started_at: BoundedDatetime
    ended_at: BoundedDatetime
    viable_cell_count: float | None = Field(None, ge=0, le=CELLS_MAX, allow_inf_nan=False)
    viability_pct: float | None = Field(None, ge=0, le=100, allow_inf_nan=False)
    retained_aliquots: int | None = Field(
        None, ge=0, le=INT32_MAX, description="selection step only"
    )


class SignedStepBody(StepBody):
    """A step and its performer's signature (meaning performed); without it: 428 with the
    content to sign."""

    signature: SignatureRequest | None = None


class VerificationBody(_Body):
    """The second person's signature (meaning verified): their own user id and password,
    also on the performer's tablet; without it: 428 with the content to sign."""

    signature: SignatureRequest | None = None


class LotBody(_Body):
    bag_count: int = Field(ge=1, description="1 to the product's max_bags_per_lot (config)")
    total_viable_cells: float = Field(gt=0, le=CELLS_MAX, allow_inf_nan=False)
    viability_pct: float = Field(ge=0, le=100, allow_inf_nan=False)


class FailureBody(_Body):
    reason: str = Field(min_length=1, max_length=2000)
    deviation_id: str | None = Field(None, min_length=1, max_length=128)
