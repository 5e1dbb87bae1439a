"""Product specifications: the release panel and each test's acceptance criterion.

A specification is versioned configuration (JSON files, see ``v2v_qc/config``), never
code. A panel copies the specification it was ordered from, so a later version of the
specification never changes a panel already ordered.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from v2v_runtime.errors import DomainError, NotFound

DEFAULT_PRODUCT = "default"


class _Test(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1)
    method: str = Field(min_length=1)
    limit: str = Field(min_length=1, description="human-readable acceptance criterion")
    may_be_pending_at_release: bool = Field(
        False,
        description="its result may still be outstanding when QA releases the lot "
        "(conditional release; e.g. 14-day compendial sterility, mycoplasma by culture)",
    )


class NumericTest(_Test):
    """A measured number, accepted when ``min <= value <= max`` (both bounds inclusive)."""

    kind: Literal["numeric"] = "numeric"
    unit: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None
    value_range: tuple[float | None, float | None] = Field(
        (None, None),
        description="physically possible values (e.g. 0-100 for a percentage); "
        "a value outside is refused as a typing error, not judged against the limit",
    )

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError(f"numeric test {self.code!r} needs min and/or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"numeric test {self.code!r}: min > max")
        return self

    def within(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def check_possible(self, value: float) -> None:
        lo, hi = self.value_range
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise DomainError(
                "value-out-of-range",
                f"{value:g} {self.unit} is not a possible value for {self.code!r}",
                value_range=[lo, hi],
            )


def whole_cells(count: float) -> int:
    """Cell counts are reported, and compared with their limits, as whole cells (half up)."""
    return int(Decimal(count).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def normalise(text: str) -> str:
    """Categorical results compare case-insensitively with whitespace collapsed."""
    return " ".join(text.split()).casefold()


class CategoricalTest(_Test):
    """A text result, accepted when it is one of ``accepted``."""

    kind: Literal["categorical"] = "categorical"
    accepted: list[str] = Field(min_length=1)

    def within(self, value: str) -> bool:
        return normalise(value) in {normalise(a) for a in self.accepted}


class DoseTest(_Test):
    """The dose, computed by QC (never typed in): CAR+ viable T cells per kg of body weight
    = total viable cells of the lot x CAR+ % / 100 / patient weight.

    Accepted when the per-kg dose (rounded half up to whole cells) is at least ``min_per_kg`` and,
    if ``max_total`` is set, the lot's CAR+ viable T cells (rounded) are at most
    ``max_total`` (the cap on the whole dose).
    """

    kind: Literal["dose"] = "dose"
    unit: str = Field(min_length=1)
    from_test: str = Field(description="the CAR+ % test the dose is computed from")
    min_per_kg: float = Field(gt=0)
    max_total: float | None = Field(None, gt=0)

    def within(self, per_kg: float, total: float) -> bool:
        if whole_cells(per_kg) < self.min_per_kg:
            return False
        return self.max_total is None or whole_cells(total) <= self.max_total


TestSpec = Annotated[NumericTest | CategoricalTest | DoseTest, Field(discriminator="kind")]


class Spec(BaseModel):
    """One version of a product's release specification."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spec_id: str = Field(min_length=1, max_length=64)
    version: int = Field(ge=1)
    product_code: str = Field(min_length=1, max_length=32)
    title: str = ""
    notes: list[str] = Field(default_factory=list)
    tests: list[TestSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        codes = [t.code for t in self.tests]
        if len(set(codes)) != len(codes):
            raise ValueError(f"spec {self.spec_id} v{self.version}: duplicate test codes")
        doses = [t for t in self.tests if isinstance(t, DoseTest)]
        if len(doses) > 1:
            raise ValueError(f"spec {self.spec_id} v{self.version}: more than one dose test")
        for dose in doses:
            if dose.may_be_pending_at_release:
                raise ValueError(f"spec {self.spec_id} v{self.version}: the dose is never pending")
            source = self.test(dose.from_test)
            if not isinstance(source, NumericTest):
                raise ValueError(
                    f"spec {self.spec_id} v{self.version}: dose needs numeric test "
                    f"{dose.from_test!r}"
                )
        return self

    def test(self, code: str) -> NumericTest | CategoricalTest | DoseTest | None:
        return next((t for t in self.tests if t.code == code), None)

    def not_pendable(self, codes: Iterable[str]) -> list[str]:
        """Those of ``codes`` that must have a result at release (unknown ones included)."""
        return [c for c in codes if not getattr(self.test(c), "may_be_pending_at_release", False)]

    @property
    def dose(self) -> DoseTest | None:
        return next((t for t in self.tests if isinstance(t, DoseTest)), None)


class SpecCatalog:
    """Every known specification version. The current one of a product is its newest
    **effective** version: the first version of a specification is effective by
    configuration (the bootstrap), a later one only once a change control naming it is
    implemented (QC acts on its own approval)."""

    def __init__(self, specs: Iterable[Spec]) -> None:
        self._specs: dict[tuple[str, int], Spec] = {}
        for s in specs:
            key = (s.spec_id, s.version)
            if key in self._specs:
                raise ValueError(f"spec {s.spec_id} v{s.version} defined twice")
            self._specs[key] = s
        by_product: dict[str, list[Spec]] = {}
        for s in sorted(self._specs.values(), key=lambda s: s.version):
            seen = by_product.setdefault(s.product_code, [])
            if seen and seen[0].spec_id != s.spec_id:
                raise ValueError(
                    f"product {s.product_code!r} has two specifications: "
                    f"{seen[0].spec_id} and {s.spec_id}"
                )
            seen.append(s)
        self._versions = by_product  # oldest first

    def current(
        self, product_code: str, effective: Collection[tuple[str, int]] = frozenset()
    ) -> Spec:
        """The newest effective version for the product, else the default specification's
        (``effective``: the (spec id, version) pairs change control made effective)."""
        versions = self._versions.get(product_code) or self._versions.get(DEFAULT_PRODUCT)
        if versions is None:
            raise NotFound(
                "spec-not-found", f"no specification for {product_code!r} and no default"
            )
        first = versions[0]
        return max(
            (s for s in versions if s is first or (s.spec_id, s.version) in effective),
            key=lambda s: s.version,
        )

    def knows(self, spec_id: str) -> bool:
        return any(key[0] == spec_id for key in self._specs)

    def version(self, spec_id: str, version: int) -> Spec:
        found = self._specs.get((spec_id, version))
        if found is None:
            raise NotFound("spec-not-found", f"no specification {spec_id} v{version}")
        return found


def parse_number(raw: float | str, code: str) -> float:
    """A numeric result from a JSON number or a numeric string; refuses NaN and infinity."""
    if isinstance(raw, bool):
        raise DomainError("value-not-numeric", f"{code!r} needs a number")
    if isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise DomainError(
                "value-not-numeric", f"{code!r} needs a number, got {raw!r}"
            ) from None
    else:
        try:
            value = float(raw)
        except OverflowError:  # an integer beyond the float range (e.g. 10**400)
            value = math.inf
    if not math.isfinite(value):
        raise DomainError("value-not-numeric", f"{code!r} needs a finite number")
    return value


def format_number(value: float) -> str:
    """Numbers as recorded: integral values without a trailing '.0'."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
