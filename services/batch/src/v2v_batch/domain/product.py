"""Per-product manufacturing parameters (from versioned configuration, never from code)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from .process import Step

DEFAULT_ENTRY = "default"
# ISBT 128 cellular therapy product codes start with "S" (the code tables are licensed:
# which codes exist is configuration).
PRODUCT_CODE_PATTERN = r"^S[A-Z0-9]{4,7}$"


class ProductSpec(BaseModel):
    """The parameters a batch is made under; snapshotted into the batch when it opens, so
    its record shows exactly which configuration version applied."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry: str = Field(description="the configuration entry used: a product code or 'default'")
    config_version: str
    lot_shelf_life_days: int = Field(gt=0)
    min_harvest_viability_pct: float = Field(ge=0, le=100)
    max_bags_per_lot: int = Field(ge=1)
    # Empty in batches opened before second-person verification existed: their snapshot
    # keeps them as they were (the configuration's default is CRITICAL_STEPS).
    verified_steps: tuple[Step, ...] = Field(
        (), description="steps a second person verifies before the lot is produced"
    )


class ProductCatalog:
    """Product code -> spec; a code without an entry of its own gets the default entry."""

    def __init__(self, specs: Mapping[str, ProductSpec]) -> None:
        if DEFAULT_ENTRY not in specs:
            raise ValueError(f"the product catalog needs a {DEFAULT_ENTRY!r} entry")
        self._specs = dict(specs)

    def spec_for(self, product_code: str | None) -> ProductSpec:
        if product_code is not None and product_code in self._specs:
            return self._specs[product_code]
        return self._specs[DEFAULT_ENTRY]

    @property
    def entries(self) -> list[str]:
        return sorted(self._specs)
