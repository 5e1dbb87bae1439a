"""The final lot a batch produces: in quarantine until QA release (QC's business), or found
failed by manufacturing (QA disposes of it in QC); ``rejected``: records from before that."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class LotStatus(StrEnum):
    QUARANTINED = "quarantined"
    MANUFACTURING_FAILED = "manufacturing-failed"
    REJECTED = "rejected"  # old records only: manufacturing no longer rejects


@dataclass
class Lot:
    lot_id: str
    bag_ids: tuple[str, ...]
    total_viable_cells: float
    viability_pct: float
    produced_at: datetime
    expires_at: datetime
    retained_aliquots_remaining: int
    status: LotStatus = LotStatus.QUARANTINED
    rejected_at: datetime | None = None
    rejection_reason: str | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None
    deviation_id: str | None = None
