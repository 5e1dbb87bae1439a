"""vein2vein's public contracts. Importing this package registers every type."""

from . import (
    batch,
    change_control,
    common,
    custody,
    environment,
    equipment,
    holds,
    journey,
    logistics,
    qc,
    store,
    trail,
)

__all__ = [
    "batch",
    "change_control",
    "common",
    "custody",
    "environment",
    "equipment",
    "holds",
    "journey",
    "logistics",
    "qc",
    "store",
    "trail",
]
