"""Events of a lot's release after QA's decision (on the lot's stream): the qualified
person's certification, the infusion of a lot (as custody tells it), and the outcome of a
conditional release once its pending results land — final, or failed."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from v2v_runtime.domain import DomainEvent

from .common import Who


class QpCertification(BaseModel):
    """The qualified person certified the batch (EudraLex Vol. 4 Part IV §11), signed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    certified_by: Who
    certified_at: datetime
    statement: str = Field(min_length=1, max_length=2000)


class LotCertified(DomainEvent):
    kind = "lot.certified"

    lot_id: str
    certification: QpCertification


class LotInfused(DomainEvent):
    """Custody recorded the lot's infusion (only noted while a conditional release awaits
    results: whether a failure still calls for a hold)."""

    kind = "lot.infused"

    lot_id: str
    infusion_id: str
    infused_at: datetime


class ReleaseFinalized(DomainEvent):
    """Every result a conditional release waited for landed within its limit."""

    kind = "lot.release-finalized"

    lot_id: str
    coi: str
    certificate_id: str
    tests: list[str]
    finalized_at: datetime


class ConditionalReleaseFailed(DomainEvent):
    """A result a conditional release waited for landed outside its limit: the critical
    deviation opened for it, and whether the lot had been infused already."""

    kind = "lot.conditional-release-failed"

    lot_id: str
    coi: str
    tests: list[str]
    deviation_id: str
    infused: bool
    failed_at: datetime


RELEASE_EVENTS: tuple[type[DomainEvent], ...] = (
    LotCertified,
    LotInfused,
    ReleaseFinalized,
    ConditionalReleaseFailed,
)
