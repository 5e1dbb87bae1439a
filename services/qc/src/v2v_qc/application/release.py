"""The QA decision on a lot: release (with a certificate of analysis), release conditionally
(tests the specification allows still pending: domain/release_rules.py) or reject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict, DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.common import QA_REVIEWER, Who, require_role
from ..domain.events import Certificate, Decision, Meaning
from ..domain.exceptional_release import ExceptionalRelease, exceptional_release_stream
from ..domain.lot import Lot
from ..domain.panel import Panel
from ..domain.release_policy import ReleasePolicy
from . import messages
from .batch_record import require_batch_record_reviewed
from .holds import require_not_held
from .release_checks import blockers, load_lot, require_current_trail_review


class DecisionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision
    reason: str = Field(min_length=1, max_length=2000)
    pending_tests: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        max_length=50,
        description="conditional-release only: the tests whose results are still outstanding",
    )

    @model_validator(mode="after")
    def _pending_with_conditional(self) -> Self:
        conditional = self.decision is Decision.CONDITIONAL_RELEASE
        if conditional and not self.pending_tests:
            raise ValueError("a conditional release lists its pending_tests")
        if not conditional and self.pending_tests:
            raise ValueError("pending_tests belong to a conditional-release only")
        return self


@dataclass(frozen=True)
class Decided:
    lot_id: str
    panel_id: str
    decision: Decision
    meaning: Meaning
    decided_at: datetime
    decided_by: Who
    certificate: Certificate | None


async def decide(
    uow: UnitOfWork,
    lot_id: str,
    entry: DecisionEntry,
    who: Actor,
    policy: ReleasePolicy | None = None,
) -> Decided:
    by = messages.who(who)
    require_role(by, QA_REVIEWER, "a release decision")
    lot_repo = uow.repository(Lot)
    lot = await load_lot(uow, lot_id)
    await require_not_exceptionally_released(uow, lot_id)
    now = uow.clock.now()
    if entry.decision is Decision.REJECT:
        rejected = lot.reject(entry.reason, by, now)
        await lot_repo.save(lot, by.model_dump())
        await uow.publish(messages.lot_release_rejected(rejected), subject=rejected.coi)
        return Decided(lot_id, rejected.panel_id, Decision.REJECT, Meaning.REJECTED, now, by, None)
    panel_id = lot.panel_for_decision()
    panel = await uow.repository(Panel).get(panel_id)
    qp_required = (policy or ReleasePolicy()).requires_qp(lot.manufacturing_site)
    undecided = lot.decision is None
    try:
        certificate = lot.release(
            panel,
            uow.ids.new_id(),
            entry.reason,
            by,
            now,
            pending=entry.pending_tests,
            qp_required=qp_required,
        )
        await require_not_held(uow, lot_id)  # QC's own check: no lot released while held
        await require_batch_record_reviewed(uow, lot)  # an MBR batch's record reviewed by QA
        # Last: the lot could be released but for its audit trail (nothing saved if refused).
        await require_current_trail_review(uow, lot)
    except DomainError as refused:
        if refused.status in (409, 422) and undecided:
            # One refusal names every blocker (the release package's list), not only the
            # first; from the lot as stored (the release above may have applied in memory).
            found = await blockers(uow, await load_lot(uow, lot_id), panel, qp_required)
            refused.extra.setdefault("blockers", [e.code for e in found] or [refused.code])
        raise
    await lot_repo.save(lot, by.model_dump())
    await uow.publish(messages.lot_released(certificate), subject=certificate.coi)
    return Decided(
        lot_id, panel_id, certificate.decision, certificate.meaning, now, by, certificate
    )


async def require_not_exceptionally_released(uow: UnitOfWork, lot_id: str) -> None:
    """A lot QA released exceptionally (at the physician's request) is disposed of: no
    second decision on it (its exceptional release is its own record)."""
    found = await uow.repository(ExceptionalRelease).find(exceptional_release_stream(lot_id))
    if found is not None and found.released is not None:
        raise Conflict(
            "lot-exceptionally-released",
            f"lot {lot_id} was released exceptionally ({found.released.decision_ref}): "
            "its disposition is decided",
            lot_id=lot_id,
            decision_ref=found.released.decision_ref,
        )
