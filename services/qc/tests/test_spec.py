"""Product specifications: loading, versions, fallback, and each kind of limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from v2v_qc.adapters.config import PACKAGED_SPECS, SpecFileError, load_specs
from v2v_qc.domain.spec import CategoricalTest, DoseTest, NumericTest, Spec, SpecCatalog
from v2v_runtime.errors import DomainError, NotFound

REFERENCE_CODES = [
    "viability",
    "car_pos",
    "cd3_pos",
    "vcn",
    "endotoxin",
    "sterility",
    "mycoplasma",
    "rcl",
    "identity",
    "potency",
    "dose",
]


def spec_doc(product: str = "S1234", version: int = 1, **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((PACKAGED_SPECS / "S1234.v1.json").read_text())
    doc.update(product_code=product, version=version, **over)
    return doc


def write(folder: Path, doc: dict[str, Any], name: str | None = None) -> Path:
    path = folder / (name or f"{doc['product_code']}.v{doc['version']}.json")
    path.write_text(json.dumps(doc))
    return path


def test_packaged_specs_carry_the_reference_panel() -> None:
    specs = load_specs()
    s1234 = specs.current("S1234")
    assert (s1234.spec_id, s1234.version, s1234.product_code) == ("SPEC-S1234", 1, "S1234")
    assert [t.code for t in s1234.tests] == REFERENCE_CODES
    limits = {t.code: t for t in s1234.tests}
    viability, vcn = limits["viability"], limits["vcn"]
    assert isinstance(viability, NumericTest) and (viability.min, viability.unit) == (70, "%")
    assert isinstance(vcn, NumericTest) and (vcn.max, vcn.unit) == (5, "copies/cell")
    endotoxin = limits["endotoxin"]
    assert isinstance(endotoxin, NumericTest) and endotoxin.max == 0.5
    sterility = limits["sterility"]
    assert isinstance(sterility, CategoricalTest) and sterility.accepted == ["no growth"]
    dose = limits["dose"]
    assert isinstance(dose, DoseTest)
    assert (dose.min_per_kg, dose.max_total, dose.from_test) == (1.0e6, 2.0e8, "car_pos")


def test_unknown_product_falls_back_to_default() -> None:
    specs = load_specs()
    fallback = specs.current("S9999")
    assert (fallback.spec_id, fallback.product_code) == ("SPEC-DEFAULT", "default")


def test_no_spec_and_no_default_is_not_found(tmp_path: Path) -> None:
    write(tmp_path, spec_doc("S1234"))
    specs = load_specs(tmp_path)
    assert specs.current("S1234").product_code == "S1234"
    with pytest.raises(NotFound):
        specs.current("S9999")


@pytest.mark.requirement("EU-Annex11.10", "EU-PartIV.6.2")
def test_the_newest_effective_version_is_current_and_older_ones_stay_available(
    tmp_path: Path,
) -> None:
    write(tmp_path, spec_doc(version=1))
    v2 = spec_doc(version=2)
    v2["tests"][0]["min"] = 80
    v2["tests"][0]["limit"] = ">= 80 %"
    write(tmp_path, v2)
    write(tmp_path, spec_doc(version=3))
    specs = load_specs(tmp_path)
    # the first version is effective by configuration; later ones through change control
    assert specs.current("S1234").version == 1
    current = specs.current("S1234", {("SPEC-S1234", 2)})
    assert current.version == 2
    assert current.tests[0].limit == ">= 80 %"
    assert specs.current("S1234", {("SPEC-S1234", 3), ("SPEC-S1234", 2)}).version == 3
    assert specs.current("S1234", {("SPEC-OTHER", 3)}).version == 1
    assert specs.version("SPEC-S1234", 1).tests[0].limit == ">= 70 %"
    assert specs.knows("SPEC-S1234") and not specs.knows("SPEC-OTHER")


def test_a_file_must_be_named_after_its_product_and_version(tmp_path: Path) -> None:
    write(tmp_path, spec_doc(version=2), name="S1234.v1.json")
    with pytest.raises(SpecFileError, match=r"S1234\.v2\.json"):
        load_specs(tmp_path)


@pytest.mark.requirement("EU-PartIV.6.2")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["tests"][0].pop("min"), "min and/or max"),
        (lambda d: d["tests"].append(dict(d["tests"][0])), "duplicate"),
        (lambda d: d["tests"][-1].update(from_test="nope"), "dose needs numeric"),
        (lambda d: d["tests"][0].update(kind="fuzzy"), "kind"),
        (lambda d: d["tests"][0].update(typo=1), "typo"),
    ],
)
def test_invalid_specifications_are_refused(tmp_path: Path, change: Any, message: str) -> None:
    doc = spec_doc()
    change(doc)
    write(tmp_path, doc)
    with pytest.raises(SpecFileError, match=message):
        load_specs(tmp_path)


def test_one_product_cannot_have_two_spec_ids() -> None:
    a = Spec.model_validate(spec_doc())
    b = Spec.model_validate(spec_doc(version=2, spec_id="SPEC-OTHER"))
    with pytest.raises(ValueError, match="two specifications"):
        SpecCatalog([a, b])


# --- limits -------------------------------------------------------------------------------


def numeric(**kw: Any) -> NumericTest:
    return NumericTest(code="t", name="t", method="m", limit="l", unit="%", **kw)


@pytest.mark.parametrize(
    ("value", "within"), [(69.99, False), (70, True), (70.0, True), (70.01, True), (100, True)]
)
def test_minimum_is_inclusive(value: float, within: bool) -> None:
    assert numeric(min=70).within(value) is within


@pytest.mark.parametrize(("value", "within"), [(0, True), (0.5, True), (0.5001, False)])
def test_maximum_is_inclusive(value: float, within: bool) -> None:
    assert numeric(max=0.5).within(value) is within


@pytest.mark.parametrize(("value", "within"), [(9.9, False), (10, True), (20, True), (20.1, False)])
def test_range_limit(value: float, within: bool) -> None:
    assert numeric(min=10, max=20).within(value) is within


@pytest.mark.requirement("EU-Annex11.6")
def test_values_outside_the_possible_range_are_entry_errors() -> None:
    t = numeric(min=70, value_range=(0, 100))
    t.check_possible(100)
    with pytest.raises(DomainError) as err:
        t.check_possible(100.1)
    assert err.value.code == "value-out-of-range"


@pytest.mark.parametrize(
    ("value", "within"),
    [
        ("negative", True),
        ("Negative", True),
        ("  NEGATIVE ", True),
        ("positive", False),
        ("negative to date", False),
        ("", False),
    ],
)
def test_categorical_limit(value: str, within: bool) -> None:
    t = CategoricalTest(
        code="myco", name="m", method="NAT", limit="negative", accepted=["negative"]
    )
    assert t.within(value) is within


def test_categorical_with_several_accepted_values() -> None:
    t = CategoricalTest(
        code="rcl", name="r", method="m", limit="l", accepted=["not detected", "negative"]
    )
    assert t.within("Not  detected") and t.within("negative") and not t.within("detected")


def dose(max_total: float | None = 2.0e8) -> DoseTest:
    return DoseTest(
        code="dose",
        name="d",
        method="calc",
        limit="l",
        unit="cells/kg",
        from_test="car_pos",
        min_per_kg=1.0e6,
        max_total=max_total,
    )


@pytest.mark.parametrize(
    ("per_kg", "total", "within"),
    [
        (999_999.4, 7e7, False),  # rounds to 999,999 cells/kg: below the minimum
        (999_999.5, 7e7, True),  # rounds to 1,000,000: at the minimum
        (1.0e6, 7e7, True),
        (2.0e6, 2.0e8, True),  # at the cap
        (2.0e6, 2.0e8 + 1, False),  # above the cap
        (2.0e6, 2.0e8 + 0.5, False),  # rounds half up to 200,000,001: above the cap
    ],
)
def test_dose_limit(per_kg: float, total: float, within: bool) -> None:
    assert dose().within(per_kg, total) is within


def test_dose_without_a_cap() -> None:
    assert dose(max_total=None).within(5e6, 1e12)
