"""Versioned per-product manufacturing configuration, read from a JSON file (the packaged
``config/products.v1.json`` unless ``V2V_PRODUCTS_CONFIG`` names another).

Format ``v2v-batch-products/1``::

    {"format": "v2v-batch-products/1",
     "products": {"default": {...}, "S1234": {...}}}

Each entry: ``config_version`` (recorded in every batch opened under it),
``lot_shelf_life_days`` (expiry after cryopreservation), ``min_harvest_viability_pct``
(a harvest below it is recorded and flagged), ``max_bags_per_lot``, optional
``verified_steps`` (the steps a second person verifies before the lot is produced; the
critical steps — transduction, harvest, formulation, cryopreservation — when not given;
``[]`` for none), optional ``description``. A ``default`` entry is required; it serves
every product code without an entry of its own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from v2v_events.bounds import LIST_MAX

from ..domain.process import CRITICAL_STEPS, STEP_ORDER, Step
from ..domain.product import DEFAULT_ENTRY, PRODUCT_CODE_PATTERN, ProductCatalog, ProductSpec

DEFAULT_PRODUCTS_CONFIG = Path(__file__).resolve().parent.parent / "config" / "products.v1.json"
FORMAT = "v2v-batch-products/1"


class ProductConfigError(ValueError):
    """The products configuration file is missing or invalid."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    config_version: str = Field(min_length=1, max_length=64)
    description: str | None = None
    # Bounded so that what a lot's message carries stays within the contracts' bounds.
    lot_shelf_life_days: int = Field(gt=0, le=3650)
    min_harvest_viability_pct: float = Field(ge=0, le=100, allow_inf_nan=False)
    max_bags_per_lot: int = Field(ge=1, le=LIST_MAX)
    verified_steps: tuple[Step, ...] = CRITICAL_STEPS

    @field_validator("verified_steps")
    @classmethod
    def _once_each(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        if len(set(steps)) != len(steps):
            raise ValueError("a step is named more than once")
        return tuple(s for s in STEP_ORDER if s in steps)  # in process order


class _ProductsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["v2v-batch-products/1"]
    products: dict[str, _Entry]

    @field_validator("products")
    @classmethod
    def _keys(cls, products: dict[str, _Entry]) -> dict[str, _Entry]:
        if DEFAULT_ENTRY not in products:
            raise ValueError(f"a {DEFAULT_ENTRY!r} entry is required")
        for key in products:
            if key != DEFAULT_ENTRY and not re.fullmatch(PRODUCT_CODE_PATTERN, key):
                raise ValueError(f"{key!r} is not a cellular therapy product code")
        return products


def parse_catalog(data: object) -> ProductCatalog:
    try:
        parsed = _ProductsFile.model_validate(data)
    except ValidationError as exc:
        raise ProductConfigError(f"invalid products configuration: {exc}") from exc
    return ProductCatalog(
        {
            key: ProductSpec(
                entry=key,
                config_version=e.config_version,
                lot_shelf_life_days=e.lot_shelf_life_days,
                min_harvest_viability_pct=e.min_harvest_viability_pct,
                max_bags_per_lot=e.max_bags_per_lot,
                verified_steps=e.verified_steps,
            )
            for key, e in parsed.products.items()
        }
    )


def load_catalog(path: Path = DEFAULT_PRODUCTS_CONFIG) -> ProductCatalog:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProductConfigError(f"cannot read products configuration {path}: {exc}") from exc
    return parse_catalog(data)
