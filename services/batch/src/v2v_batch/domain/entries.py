"""What a performer enters at a step of an MBR-executed batch, checked against the step:
each value against its parameter's type, unit and limits; the materials and equipment
against what the step asks for; the hold time since the step before."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from v2v_runtime.errors import DomainError

from .checks import check_identifier
from .execution_events import EnteredValue, UsedEquipment, UsedMaterial, Value
from .mbr_content import NUMERIC, MbrStep, Parameter, ParameterType

TEXT_VALUE_MAX = 2000


@dataclass(frozen=True)
class ValueEntry:
    value: Value
    unit: str | None = None


@dataclass(frozen=True)
class StepEntry:
    step_id: str
    room: str
    started_at: datetime
    ended_at: datetime
    values: Mapping[str, ValueEntry] = field(default_factory=dict)
    materials: tuple[UsedMaterial, ...] = ()
    equipment: tuple[UsedEquipment, ...] = ()
    comment: str | None = None


class EntryRefused(DomainError):
    """An entry that does not fit its step: 422 naming the field."""

    def __init__(self, code: str, field: str, detail: str) -> None:
        super().__init__(code, detail, field=field)


def checked_value(p: Parameter, entry: ValueEntry, where: str) -> EnteredValue:
    """The value as recorded, or refused when of the wrong type or unit."""
    if entry.unit != p.unit:
        raise EntryRefused(
            "unit-mismatch",
            f"{where}.unit",
            f"{p.name} is entered in {p.unit or 'no unit'}, not {entry.unit or 'no unit'}",
        )
    value = _typed(p, entry.value, f"{where}.value")
    within = None
    if p.type in NUMERIC and (p.lower_limit is not None or p.upper_limit is not None):
        assert isinstance(value, int | float)
        within = p.within_limits(value)
    return EnteredValue(name=p.name, value=value, unit=p.unit, within_limits=within)


def _typed(p: Parameter, value: Value, where: str) -> Value:
    wrong = EntryRefused("value-wrong-type", where, f"{p.name} is a {p.type.value}, not {value!r}")
    match p.type:
        case ParameterType.NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise wrong
            if not math.isfinite(value):
                raise wrong
            return float(value)
        case ParameterType.INTEGER:
            if isinstance(value, bool):
                raise wrong
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if not isinstance(value, int):
                raise wrong
            return value
        case ParameterType.BOOLEAN:
            if not isinstance(value, bool):
                raise wrong
            return value
        case ParameterType.TEXT:
            if not isinstance(value, str) or not value.strip() or len(value) > TEXT_VALUE_MAX:
                raise wrong
            return value
        case ParameterType.CHOICE:
            if not isinstance(value, str) or value not in p.choices:
                raise EntryRefused(
                    "value-not-a-choice", where, f"{p.name} is one of {', '.join(p.choices)}"
                )
            return value


def checked_values(step: MbrStep, values: Mapping[str, ValueEntry]) -> tuple[EnteredValue, ...]:
    """Every parameter of the step as entered, in the step's order; unknown names and
    missing required values refused."""
    for name in values:
        if step.parameter(name) is None:
            raise EntryRefused(
                "parameter-unknown", f"values.{name}", f"{step.step_id} has no parameter {name!r}"
            )
    entered: list[EnteredValue] = []
    for p in step.parameters:
        entry = values.get(p.name)
        if entry is None:
            if p.required:
                raise EntryRefused(
                    "value-missing", f"values.{p.name}", f"{step.step_id} records {p.label}"
                )
            continue
        entered.append(checked_value(p, entry, f"values.{p.name}"))
    return tuple(entered)


def check_materials(step: MbrStep, used: tuple[UsedMaterial, ...]) -> None:
    """The lots scanned are of the materials the step asks for, in its units; each
    material it asks for is there. (Whether a lot is released, unexpired and has the
    quantity left is the material register's gate.)"""
    needs = {m.material_code: m for m in step.materials}
    for i, m in enumerate(used):
        need = needs.get(m.material_code)
        check_identifier("lot_id", m.lot_id)
        if need is None:
            raise EntryRefused(
                "material-not-in-mbr",
                f"materials[{i}].material_code",
                f"{step.step_id} uses no {m.material_code!r}",
            )
        if m.unit != need.unit:
            raise EntryRefused(
                "unit-mismatch",
                f"materials[{i}].unit",
                f"{m.material_code} is counted in {need.unit}, not {m.unit}",
            )
        if not (math.isfinite(m.quantity) and m.quantity > 0):
            raise EntryRefused("quantity-invalid", f"materials[{i}].quantity", "must be > 0")
    missing = sorted(set(needs) - {m.material_code for m in used})
    if missing:
        raise EntryRefused(
            "material-missing", "materials", f"{step.step_id} uses {', '.join(missing)}"
        )


def check_equipment(step: MbrStep, used: tuple[UsedEquipment, ...]) -> None:
    """The instruments used are of the types the step asks for, each type there."""
    for i, e in enumerate(used):
        check_identifier("equipment_id", e.equipment_id)
        if e.equipment_type not in step.equipment_types:
            raise EntryRefused(
                "equipment-not-in-mbr",
                f"equipment[{i}].equipment_type",
                f"{step.step_id} uses no {e.equipment_type!r}",
            )
    missing = sorted(set(step.equipment_types) - {e.equipment_type for e in used})
    if missing:
        raise EntryRefused(
            "equipment-missing", "equipment", f"{step.step_id} uses {', '.join(missing)}"
        )


def hold_exceeded(step: MbrStep, since: datetime, started_at: datetime) -> timedelta | None:
    """How long the material waited before the step, if longer than the MBR allows."""
    if step.max_hold_minutes is None:
        return None
    held = started_at - since
    return held if held > timedelta(minutes=step.max_hold_minutes) else None
