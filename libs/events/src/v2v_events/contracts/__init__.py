"""vein2vein's public contracts. Importing this package registers every type."""

from . import (
    batch,
    change_control,
    common,
    custody,
    environment,
    equipment,
    exceptional_release,
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
    "exceptional_release",
    "holds",
    "journey",
    "logistics",
    "qc",
    "store",
    "trail",
]
