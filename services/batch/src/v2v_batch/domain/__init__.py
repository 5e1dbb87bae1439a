"""Batch domain: pure rules, no I/O (clock and ids are passed in)."""

from .batch import Batch, BatchStatus, Lot, LotStatus
from .events import DOMAIN_EVENTS, STEP_ORDER, Operator, Source, Step, StepFlag
from .material import NO_RETAINED_MATERIAL, ApheresisMaterial
from .process import CRITICAL_STEPS
from .product import DEFAULT_ENTRY, ProductCatalog, ProductSpec
from .steps import StepRecord, StepValues
from .verification import SeparationOfDuties

__all__ = [
    "CRITICAL_STEPS",
    "DEFAULT_ENTRY",
    "DOMAIN_EVENTS",
    "NO_RETAINED_MATERIAL",
    "STEP_ORDER",
    "ApheresisMaterial",
    "Batch",
    "BatchStatus",
    "Lot",
    "LotStatus",
    "Operator",
    "ProductCatalog",
    "ProductSpec",
    "SeparationOfDuties",
    "Source",
    "Step",
    "StepFlag",
    "StepRecord",
    "StepValues",
]
