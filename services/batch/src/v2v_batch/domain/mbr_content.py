"""What a master batch record (MBR) says: its operations and steps, each with instructions,
the SOP it follows, parameters with units, targets and limits, the materials, equipment
types, qualification and signatures it needs, and the longest hold since the step before.

Data, never code: authored through the API or loaded from seed files, validated here
(shapes by the models, the rules between fields by ``check_content``), stored as events."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from v2v_runtime.errors import DomainError

SLUG = r"^[a-z][a-z0-9-]{0,31}$"  # step and operation ids (stored in 32-character columns)
PARAMETER_NAME = r"^[a-z][a-z0-9_]{0,63}$"
LIMIT_MAX = 1e15  # the largest magnitude of a target or limit (cell counts)


class ParameterType(StrEnum):
    NUMBER = "number"
    INTEGER = "integer"
    TEXT = "text"
    BOOLEAN = "boolean"
    CHOICE = "choice"


NUMERIC = frozenset({ParameterType.NUMBER, ParameterType.INTEGER})


class _Content(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sop(_Content):
    """The standard operating procedure a step follows, by document id and version."""

    document_id: str = Field(min_length=1, max_length=64)
    version: str = Field(min_length=1, max_length=16)


class Parameter(_Content):
    name: str = Field(pattern=PARAMETER_NAME)
    label: str = Field(min_length=1, max_length=200)
    type: ParameterType
    unit: str | None = Field(None, min_length=1, max_length=32)
    target: float | None = Field(None, ge=-LIMIT_MAX, le=LIMIT_MAX, allow_inf_nan=False)
    lower_limit: float | None = Field(None, ge=-LIMIT_MAX, le=LIMIT_MAX, allow_inf_nan=False)
    upper_limit: float | None = Field(None, ge=-LIMIT_MAX, le=LIMIT_MAX, allow_inf_nan=False)
    critical: bool = False
    required: bool = True
    choices: tuple[str, ...] = Field((), max_length=50)

    def limits_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.lower_limit is not None and self.upper_limit is not None:
            return f"{self.lower_limit:g} to {self.upper_limit:g}{unit}"
        if self.lower_limit is not None:
            return f">= {self.lower_limit:g}{unit}"
        if self.upper_limit is not None:
            return f"<= {self.upper_limit:g}{unit}"
        return "no limits"

    def within_limits(self, value: float) -> bool:
        return (self.lower_limit is None or value >= self.lower_limit) and (
            self.upper_limit is None or value <= self.upper_limit
        )


class MaterialNeed(_Content):
    material_code: str = Field(min_length=1, max_length=64)
    quantity: float = Field(gt=0, le=LIMIT_MAX, allow_inf_nan=False)
    unit: str = Field(min_length=1, max_length=32)


class Signatures(StrEnum):
    """The signatures a step needs: its performer's, and for critical steps a second
    person's verification."""

    PERFORMED = "performed"
    PERFORMED_AND_VERIFIED = "performed-and-verified"


class MbrStep(_Content):
    step_id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    instructions: str = Field(min_length=1, max_length=4000)
    sop: Sop
    parameters: tuple[Parameter, ...] = Field((), max_length=50)
    materials: tuple[MaterialNeed, ...] = Field((), max_length=50)
    equipment_types: tuple[str, ...] = Field((), max_length=20)
    qualification: str | None = Field(None, min_length=1, max_length=64)
    signatures: Signatures = Signatures.PERFORMED
    # The longest time from the end of the step before (the first step: the batch's
    # opening) to this step's start; exceeded, it is a batch exception.
    max_hold_minutes: int | None = Field(None, ge=1, le=60 * 24 * 60)

    @property
    def verified(self) -> bool:
        return self.signatures is Signatures.PERFORMED_AND_VERIFIED

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


class Operation(_Content):
    operation_id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    steps: tuple[MbrStep, ...] = Field(min_length=1, max_length=50)


class MbrContent(_Content):
    """One version of a product's master batch record (the site and version are the
    record's, not the content's)."""

    title: str = Field(min_length=1, max_length=200)
    therapy: str = Field(min_length=1, max_length=64, examples=["autologous CAR-T"])
    description: str | None = Field(None, max_length=4000)
    operations: tuple[Operation, ...] = Field(min_length=1, max_length=30)

    @property
    def steps(self) -> tuple[MbrStep, ...]:
        """Every step, in the order a batch performs them."""
        return tuple(s for op in self.operations for s in op.steps)

    def step(self, step_id: str) -> MbrStep | None:
        return next((s for s in self.steps if s.step_id == step_id), None)

    def operation_of(self, step_id: str) -> Operation:
        return next(op for op in self.operations if any(s.step_id == step_id for s in op.steps))

    def position(self, step_id: str) -> int:
        """1-based position of the step in the record."""
        return next(i for i, s in enumerate(self.steps, 1) if s.step_id == step_id)

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON: what a batch pins, and what QA's approval names."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


class InvalidMbr(DomainError):
    """A rule between fields of an MBR does not hold; ``field`` names where."""

    def __init__(self, code: str, field: str, detail: str) -> None:
        super().__init__(code, f"{field}: {detail}", field=field)


def check_content(content: MbrContent) -> None:
    """The rules the models cannot state field by field: unique ids and names, limits
    that do not overlap, targets within them, limits only on numbers, choices only on
    choices, critical parameters checkable and their steps verified."""
    seen_ops: set[str] = set()
    seen_steps: set[str] = set()
    for i, op in enumerate(content.operations):
        where = f"operations[{i}]"
        if op.operation_id in seen_ops:
            raise InvalidMbr("mbr-duplicate-operation", f"{where}.operation_id", "used twice")
        seen_ops.add(op.operation_id)
        for j, step in enumerate(op.steps):
            at = f"{where}.steps[{j}]"
            if step.step_id in seen_steps:
                raise InvalidMbr("mbr-duplicate-step", f"{at}.step_id", "used twice")
            seen_steps.add(step.step_id)
            _check_step(step, at)


def _check_step(step: MbrStep, at: str) -> None:
    names: set[str] = set()
    for k, p in enumerate(step.parameters):
        where = f"{at}.parameters[{k}]"
        if p.name in names:
            raise InvalidMbr("mbr-duplicate-parameter", f"{where}.name", "used twice in the step")
        names.add(p.name)
        _check_parameter(p, where)
        if p.critical and not step.verified:
            raise InvalidMbr(
                "mbr-critical-step-unverified",
                f"{at}.signatures",
                f"parameter {p.name} is critical: the step needs "
                f"{Signatures.PERFORMED_AND_VERIFIED.value}",
            )
    codes = [m.material_code for m in step.materials]
    if len(set(codes)) != len(codes):
        raise InvalidMbr("mbr-duplicate-material", f"{at}.materials", "a material listed twice")
    if len(set(step.equipment_types)) != len(step.equipment_types):
        raise InvalidMbr("mbr-duplicate-equipment", f"{at}.equipment_types", "a type listed twice")


def _check_parameter(p: Parameter, where: str) -> None:
    numeric = p.type in NUMERIC
    for name in ("target", "lower_limit", "upper_limit"):
        if getattr(p, name) is not None and not numeric:
            raise InvalidMbr(
                "mbr-limit-not-numeric", f"{where}.{name}", f"a {p.type.value} parameter has none"
            )
    lower, upper, target = p.lower_limit, p.upper_limit, p.target
    if lower is not None and upper is not None and lower >= upper:
        raise InvalidMbr(
            "mbr-limits-overlap",
            f"{where}.lower_limit",
            f"lower limit {lower:g} is not below upper limit {upper:g}",
        )
    if target is not None and not p.within_limits(target):
        raise InvalidMbr(
            "mbr-target-outside-limits", f"{where}.target", f"{target:g} is not {p.limits_text()}"
        )
    if p.critical and (not numeric or (lower is None and upper is None)):
        raise InvalidMbr(
            "mbr-critical-without-limits",
            f"{where}.critical",
            "a critical parameter is a number with at least one limit",
        )
    if p.type is ParameterType.CHOICE:
        if not p.choices or len(set(p.choices)) != len(p.choices):
            raise InvalidMbr(
                "mbr-choices-invalid", f"{where}.choices", "a choice lists distinct options"
            )
    elif p.choices:
        raise InvalidMbr("mbr-choices-invalid", f"{where}.choices", "only a choice has options")
    if p.unit is not None and not numeric:
        raise InvalidMbr("mbr-unit-not-numeric", f"{where}.unit", "only numbers have units")
