"""Write a golden sample for every registered type/version that has none yet.

    uv run python libs/events/scripts/new_golden.py

Never overwrites: once committed, a golden sample is the wire format integrators rely on.
Review each new file (it is built from the model's types with fixed, realistic values).
"""

from __future__ import annotations

import json
import types
import typing
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from pydantic import AwareDatetime, BaseModel

from v2v_events import REGISTRY, golden

SPECIAL: dict[str, Any] = {
    "coi": "CHA1B2C26000123",
    "scanned_coi": "CHA1B2C26000123",
    "din": "G123498654321",
    "scanned_din": "G123498654321",
    "din_check": "H",
    "product_code": "S1234",
    "therapy": "CAR-T",
    "patient_weight_kg": 72.5,
    "viability_pct": 86.4,
    "temperature_c": 4.2,
    "min_c": -190.5,
    "max_c": -172.0,
    "volume_ml": 240.0,
    "total_nucleated_cells": 1.2e10,
    "total_viable_cells": 4.6e8,
    "viable_cell_count": 1.1e9,
    "minutes_out_of_storage": 12.0,
    "attempt": 2,
    "user_id": "u-1042",
    "role": "cell-therapy-specialist",
}
T0 = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)


def value_for(name: str, annotation: Any) -> Any:
    if name in SPECIAL:
        return SPECIAL[name]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return value_for(name, args[0])
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return value_for(name, inner[0])
    if origin is list:
        return [value_for(name.rstrip("s"), args[0])]
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return example(annotation)
        if issubclass(annotation, Enum):
            return next(iter(annotation)).value
        if annotation is bool:
            return False
        if annotation is int:
            return 1
        if annotation is float:
            return 1.5
        if annotation in (datetime, AwareDatetime):
            return T0.isoformat().replace("+00:00", "Z")
        if annotation is date:
            return "2026-11-16"
        if annotation is str:
            return f"{name.replace('_', '-')}-1"
    raise TypeError(f"no example for {name}: {annotation!r}")


def example(model: type[BaseModel]) -> dict[str, Any]:
    data = {name: value_for(name, f.annotation) for name, f in model.model_fields.items()}
    return model.model_validate(data).model_dump(mode="json")


def main() -> None:
    for mt in REGISTRY:
        have = golden.versions(mt.name)
        if mt.version in have:
            continue
        path = golden.ROOT / mt.name / f"v{mt.version}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(example(mt.model), indent=2, sort_keys=True) + "\n")
        print(f"new golden sample: {path}")


if __name__ == "__main__":
    main()
