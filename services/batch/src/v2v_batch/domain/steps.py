"""A recorded process step, and the rules on the values of one step (times, equipment,
cell counts, retained aliquots) with the flags a reviewer must see (low harvest viability);
who performed it and who verified it.

The order of steps and whether a step may still be recorded or verified depend on the
batch's state: the Batch aggregate checks those first."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from v2v_runtime.errors import Conflict, DomainError

from .checks import check_identifier, check_viability
from .events import Operator, Source, Step, StepFlag, StepRecorded
from .product import ProductSpec

VIABILITY_BELOW_MINIMUM = "viability-below-minimum"


@dataclass(frozen=True)
class StepValues:
    """What the performer enters for one step (the operator is who signs it)."""

    step: Step
    started_at: datetime
    ended_at: datetime
    equipment_id: str | None = None
    viable_cell_count: float | None = None
    viability_pct: float | None = None
    retained_aliquots: int | None = None


@dataclass(frozen=True)
class StepRecord:
    step: Step
    equipment_id: str | None
    started_at: datetime
    ended_at: datetime
    viable_cell_count: float | None
    viability_pct: float | None
    retained_aliquots: int | None
    flags: tuple[StepFlag, ...]
    recorded_at: datetime
    late: bool = False
    performed_by: Operator | None = None  # None: recorded before steps were signed
    signature_id: str | None = None  # the performer's signature (meaning performed)
    verified_by: Operator | None = None
    verified_at: datetime | None = None
    verification_signature_id: str | None = None


def check_order(
    batch_id: str, step: Step, recorded: Collection[Step], expected: Step | None
) -> None:
    """Each step once, in the process order (``expected``: the next one)."""
    if step in recorded:
        raise Conflict(
            "step-already-recorded", f"{step.value} is already recorded in batch {batch_id}"
        )
    if step is not expected:
        assert expected is not None  # all steps recorded implies `step in recorded`
        raise Conflict(
            "step-out-of-order",
            f"{step.value} cannot be recorded before {expected.value}",
            expected_step=expected.value,
        )


def checked_step(
    values: StepValues,
    *,
    source: Source,
    spec: ProductSpec,
    recorded_at: datetime,
    late: bool = False,
    performed_by: Operator | None = None,
    signature_id: str | None = None,
) -> StepRecorded:
    """The event recording a step with these values in a batch made from ``source`` under
    ``spec``; refuses values no step may have. Selection always states its retained
    aliquots (0 when none)."""
    step, started_at, ended_at = values.step, values.started_at, values.ended_at
    equipment_id, viable_cell_count = values.equipment_id, values.viable_cell_count
    viability_pct, retained_aliquots = values.viability_pct, values.retained_aliquots
    if ended_at < started_at:
        raise DomainError("step-ends-before-it-starts", "ended_at is before started_at")
    if ended_at > recorded_at:
        raise DomainError(
            "step-ends-in-the-future", "a step is recorded once it has ended, not before"
        )
    if equipment_id is not None:
        check_identifier("equipment_id", equipment_id)
    if viable_cell_count is not None and not (
        math.isfinite(viable_cell_count) and viable_cell_count >= 0
    ):
        raise DomainError("viable-cell-count-invalid", "viable_cell_count must be >= 0")
    check_viability(viability_pct, "viability_pct")
    if step is Step.SELECTION:
        retained_aliquots = retained_aliquots or 0
        if retained_aliquots < 0:
            raise DomainError("retained-aliquots-invalid", "retained_aliquots must be >= 0")
        if retained_aliquots and source is Source.RETAINED_APHERESIS:
            raise DomainError(
                "no-retention-from-retained-material",
                "a batch made from retained material cannot retain aliquots again",
            )
    elif retained_aliquots is not None:
        raise DomainError(
            "retained-aliquots-only-at-selection",
            "retained aliquots are recorded at the selection step only",
        )
    return StepRecorded(
        step=step,
        equipment_id=equipment_id,
        started_at=started_at,
        ended_at=ended_at,
        viable_cell_count=viable_cell_count,
        viability_pct=viability_pct,
        retained_aliquots=retained_aliquots,
        flags=_flags(step, viability_pct, spec),
        recorded_at=recorded_at,
        late=late,
        performed_by=performed_by,
        signature_id=signature_id,
    )


def _flags(step: Step, viability_pct: float | None, spec: ProductSpec) -> tuple[StepFlag, ...]:
    if step is not Step.HARVEST:
        return ()
    if viability_pct is None:
        raise DomainError("harvest-viability-required", "the harvest step records viability_pct")
    if viability_pct >= spec.min_harvest_viability_pct:
        return ()
    return (
        StepFlag(
            code=VIABILITY_BELOW_MINIMUM,
            detail=(
                f"viability {viability_pct:g} % at harvest is below the minimum "
                f"{spec.min_harvest_viability_pct:g} % "
                f"(configuration {spec.entry} {spec.config_version})"
            ),
        ),
    )
