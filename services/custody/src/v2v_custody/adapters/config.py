"""Reads the versioned configuration the service runs with: the site directory (JSON) and
the products' custody rules (JSON).

Products, format ``v2v-custody-products/1`` (the packaged ``config/products.v1.json``
unless ``V2V_PRODUCTS_CONFIG`` names another)::

    {"format": "v2v-custody-products/1",
     "products": {"S1234": {"config_version": "S1234-2026.3",
                            "thaw_to_infusion_limit_minutes": 150}}}

Each entry: ``config_version``, ``thaw_to_infusion_limit_minutes`` (> 0; an infusion later
than this after its thaw started is flagged and raises a deviation in QC), optional
``description``. A product code without an entry gets the site's default
(``V2V_THAW_TO_INFUSION_LIMIT_MINUTES``).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from v2v_events.bounds import MINUTES_MAX

from ..domain.sites import SiteDirectory

PACKAGED = "sites.v1.json"
PACKAGED_PRODUCTS = "products.v1.json"


class ProductConfigError(ValueError):
    """The products configuration file is missing or invalid."""


def load_sites(path: Path | None = None) -> SiteDirectory:
    """The file at ``path``, or the directory shipped in the package."""
    if path is None:
        text = resources.files("v2v_custody").joinpath("config", PACKAGED).read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    return SiteDirectory.model_validate_json(text)


class _Product(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    config_version: str = Field(min_length=1, max_length=64)
    description: str | None = None
    # Bounded as the infusion message's minutes are.
    thaw_to_infusion_limit_minutes: float = Field(gt=0, le=MINUTES_MAX, allow_inf_nan=False)


class _ProductsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["v2v-custody-products/1"]
    products: dict[str, _Product]

    @field_validator("products")
    @classmethod
    def _codes(cls, products: dict[str, _Product]) -> dict[str, _Product]:
        for code in products:
            if not code.startswith("S") or not 1 < len(code) <= 32:
                raise ValueError(f"{code!r} is not a cellular therapy product code")
        return products


def load_thaw_limits(path: Path | None = None) -> dict[str, float]:
    """Product code -> thaw-to-infusion limit (minutes), from the file at ``path`` or the
    packaged one."""
    try:
        if path is None:
            files = resources.files("v2v_custody").joinpath("config", PACKAGED_PRODUCTS)
            text = files.read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        parsed = _ProductsFile.model_validate(json.loads(text))
    except (OSError, ValueError, ValidationError) as exc:
        where = path or PACKAGED_PRODUCTS
        raise ProductConfigError(f"invalid products configuration {where}: {exc}") from exc
    return {code: p.thaw_to_infusion_limit_minutes for code, p in parsed.products.items()}
