"""The versioned products configuration."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from v2v_batch.adapters.config import (
    DEFAULT_PRODUCTS_CONFIG,
    ProductConfigError,
    load_catalog,
    parse_catalog,
)
from v2v_batch.domain import CRITICAL_STEPS, Step
from v2v_batch.settings import BatchSettings

from .support import CONFIG


def test_packaged_configuration_is_the_default_and_valid() -> None:
    assert BatchSettings().products_config == DEFAULT_PRODUCTS_CONFIG
    catalog = load_catalog()
    default = catalog.spec_for(None)
    assert default.entry == "default"
    assert default.lot_shelf_life_days == 365
    assert default.min_harvest_viability_pct == 70
    assert default.max_bags_per_lot == 10
    assert default.verified_steps == CRITICAL_STEPS


def test_verified_steps_default_to_the_critical_ones_and_are_configurable() -> None:
    catalog = parse_catalog(CONFIG)
    assert catalog.spec_for(None).verified_steps == (
        Step.TRANSDUCTION,
        Step.HARVEST,
        Step.FORMULATION,
        Step.CRYOPRESERVATION,
    )
    # as configured, in process order
    assert catalog.spec_for("S1234").verified_steps == (Step.HARVEST, Step.CRYOPRESERVATION)
    none = _broken(lambda d: d["products"]["default"].__setitem__("verified_steps", []))
    assert parse_catalog(none).spec_for(None).verified_steps == ()


def test_unknown_product_uses_the_default_entry() -> None:
    catalog = parse_catalog(CONFIG)
    assert catalog.spec_for("S1234").config_version == "test-S1234-3"
    assert catalog.spec_for("S9999").entry == "default"
    assert catalog.spec_for(None).config_version == "test-default-1"


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(CONFIG)
    change(data)
    return data


@pytest.mark.requirement("EU-Annex11.10")
@pytest.mark.parametrize(
    "data",
    [
        _broken(lambda d: d["products"].pop("default")),
        _broken(lambda d: d["products"].__setitem__("X12", d["products"]["S1234"])),
        _broken(lambda d: d["products"]["default"].__setitem__("lot_shelf_life_days", 0)),
        _broken(lambda d: d["products"]["default"].__setitem__("min_harvest_viability_pct", 101)),
        _broken(lambda d: d["products"]["default"].pop("config_version")),
        _broken(lambda d: d.__setitem__("format", "v2v-batch-products/2")),
        _broken(lambda d: d["products"]["default"].__setitem__("verified_steps", ["washing"])),
        _broken(lambda d: d["products"]["S1234"].__setitem__("verified_steps", ["harvest"] * 2)),
    ],
)
def test_invalid_configuration_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ProductConfigError):
        parse_catalog(data)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ProductConfigError):
        load_catalog(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ProductConfigError):
        load_catalog(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(CONFIG))
    assert load_catalog(good).entries == ["S1234", "default"]
