"""The manufacturing process: its steps, in the only order a batch may record them, and
which of them are critical (a second person verifies them before the lot is produced,
unless the product's configuration says otherwise)."""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    """Process steps, in the only order a batch may record them."""

    SELECTION = "selection"
    ACTIVATION = "activation"
    TRANSDUCTION = "transduction"
    EXPANSION = "expansion"
    HARVEST = "harvest"
    FORMULATION = "formulation"
    CRYOPRESERVATION = "cryopreservation"


STEP_ORDER: tuple[Step, ...] = tuple(Step)

# The steps whose parameters are critical to the product (the domain brief): transduction
# (vector lot and MOI), harvest (viability and total viable cells), formulation (the
# formulated product's hold time to freezing) and cryopreservation (the controlled-rate
# freezing profile). The default of a product configuration entry that names none.
CRITICAL_STEPS: tuple[Step, ...] = (
    Step.TRANSDUCTION,
    Step.HARVEST,
    Step.FORMULATION,
    Step.CRYOPRESERVATION,
)
