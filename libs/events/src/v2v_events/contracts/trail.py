"""How far each service's audit trail of a chain of identity has come, published on the
service's events topic whenever its records of that CoI change: the position (in the
service's event store) and hash of the CoI's newest record there. The quality unit's
audit-trail review before release records these heads; a head that moves after the review
makes it stale (QC refuses the release until it is reviewed again). No values: positions and
hashes only (no patient-identifying data); key and ``ce_subject`` are the CoI.
"""

from __future__ import annotations

from pydantic import Field

from ..bounds import BoundedDatetime
from ..catalog import Service
from ..ids import CoI
from ..registry import REGISTRY, Contract
from .store import Sha256


class TrailAdvanced(Contract):
    """Base of the per-service trail-head contracts (never sent as such)."""

    service: str = Field(min_length=1, max_length=32)
    coi: CoI
    position: int = Field(ge=1, le=2**63 - 1, description="the newest record's store position")
    hash: Sha256 = Field(description="that record's hash in its stream's chain")
    recorded_at: BoundedDatetime


@REGISTRY.event(Service.CUSTODY, "audit-trail.advanced")
class CustodyTrailAdvanced(TrailAdvanced):
    """Custody's records of a CoI changed: the newest one's position and hash."""


@REGISTRY.event(Service.LOGISTICS, "audit-trail.advanced")
class LogisticsTrailAdvanced(TrailAdvanced):
    """Logistics' records of a CoI changed: the newest one's position and hash."""


@REGISTRY.event(Service.BATCH, "audit-trail.advanced")
class BatchTrailAdvanced(TrailAdvanced):
    """Batch's records of a CoI changed: the newest one's position and hash."""


@REGISTRY.event(Service.QC, "audit-trail.advanced")
class QcTrailAdvanced(TrailAdvanced):
    """QC's records of a CoI changed: the newest one's position and hash."""


TRAIL_CONTRACTS: dict[Service, type[TrailAdvanced]] = {
    Service.CUSTODY: CustodyTrailAdvanced,
    Service.LOGISTICS: LogisticsTrailAdvanced,
    Service.BATCH: BatchTrailAdvanced,
    Service.QC: QcTrailAdvanced,
}


def trail_contract(service: Service | str) -> type[TrailAdvanced] | None:
    try:
        return TRAIL_CONTRACTS[Service(service)]
    except (KeyError, ValueError):
        return None
