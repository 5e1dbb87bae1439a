"""The dose of a lot for its patient: CAR+ viable T cells per kg of body weight."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_runtime.errors import DomainError


class DoseCalculation(BaseModel):
    """Inputs and outputs of one dose calculation, kept with the result (traceable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    total_viable_cells: float = Field(gt=0)
    car_pos_pct: float = Field(ge=0, le=100)
    patient_weight_kg: float = Field(gt=0)
    car_pos_viable_cells: float = Field(ge=0)
    per_kg: float = Field(ge=0)


def compute_dose(
    total_viable_cells: float, car_pos_pct: float, patient_weight_kg: float
) -> DoseCalculation:
    """(total viable cells x CAR+ % / 100) / patient weight."""
    if total_viable_cells <= 0 or patient_weight_kg <= 0:
        raise DomainError("dose-not-computable", "cells and weight must be positive")
    if not 0 <= car_pos_pct <= 100:
        raise DomainError("dose-not-computable", f"CAR+ {car_pos_pct} % is not a percentage")
    car_pos = total_viable_cells * car_pos_pct / 100
    return DoseCalculation(
        total_viable_cells=total_viable_cells,
        car_pos_pct=car_pos_pct,
        patient_weight_kg=patient_weight_kg,
        car_pos_viable_cells=car_pos,
        per_kg=car_pos / patient_weight_kg,
    )
