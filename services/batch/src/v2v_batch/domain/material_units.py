"""Units of measure of supplied materials (reagents, vectors, media, consumables, kits):
which units exist, which convert into which, and the arithmetic of quantities.

A lot is counted in the unit it was received in; a consumption (or a master batch record's
requirement) may name another unit of the same dimension (mL from a lot counted in L).
Quantities are computed as decimals so that a lot drawn down in many small amounts ends at
exactly zero, never at -1e-16."""

from __future__ import annotations

import math
from decimal import Decimal

from v2v_runtime.errors import DomainError

# unit -> (dimension, size in the dimension's base unit). Counted units (vials, kits,
# transducing units) each make their own dimension: a vial is not a bag.
_VOLUME = "volume"  # base mL
_MASS = "mass"  # base mg
UNITS: dict[str, tuple[str, Decimal]] = {
    "L": (_VOLUME, Decimal(1000)),
    "mL": (_VOLUME, Decimal(1)),
    "uL": (_VOLUME, Decimal("0.001")),
    "µL": (_VOLUME, Decimal("0.001")),
    "kg": (_MASS, Decimal(1_000_000)),
    "g": (_MASS, Decimal(1000)),
    "mg": (_MASS, Decimal(1)),
    "ug": (_MASS, Decimal("0.001")),
    "µg": (_MASS, Decimal("0.001")),
    "ng": (_MASS, Decimal("0.000001")),
    **{
        counted: (counted, Decimal(1))
        for counted in (
            "each",
            "vial",
            "bag",
            "bottle",
            "kit",
            "pack",
            "test",
            "TU",  # transducing units (viral vector titre x volume)
            "vg",  # vector genomes
            "IU",  # international units (cytokines such as IL-2)
        )
    },
}
QUANTITY_MAX = 1e15  # as large as the largest count of the contracts (transducing units)
# The smallest quantity entered: converted across the widest span of units (ng into kg,
# 1e-12) it stays a normal float, never rounding to zero.
QUANTITY_MIN = 1e-9


def check_unit(unit: str, field: str = "unit") -> str:
    """The unit's dimension; 422 ``unit-unknown`` naming ``field`` otherwise."""
    found = UNITS.get(unit)
    if found is None:
        raise DomainError(
            "unit-unknown",
            f"{field} {unit!r} is not a known unit ({', '.join(UNITS)})",
            field=field,
        )
    return found[0]


def check_quantity(value: float, field: str = "quantity") -> Decimal:
    """A positive, finite quantity as a decimal; 422 ``quantity-invalid`` otherwise."""
    if not (math.isfinite(value) and QUANTITY_MIN <= value <= QUANTITY_MAX):
        raise DomainError(
            "quantity-invalid",
            f"{field} must be {QUANTITY_MIN:g} to {QUANTITY_MAX:g}",
            field=field,
        )
    return Decimal(str(value))


def compatible(unit: str, other: str) -> bool:
    return unit in UNITS and other in UNITS and UNITS[unit][0] == UNITS[other][0]


def convert(quantity: Decimal, unit: str, into: str, field: str = "unit") -> Decimal:
    """``quantity`` of ``unit`` expressed in ``into``; 422 ``unit-incompatible`` naming
    ``field`` when they measure different things (mL and vials)."""
    check_unit(unit, field)
    if not compatible(unit, into):
        raise DomainError(
            "unit-incompatible",
            f"{field} {unit!r} does not convert into {into!r}",
            field=field,
            unit=unit,
            expected_unit=into,
        )
    return quantity * UNITS[unit][1] / UNITS[into][1]


def as_float(quantity: Decimal) -> float:
    """How a quantity is stored and shown (events and views carry JSON numbers)."""
    return float(quantity)
