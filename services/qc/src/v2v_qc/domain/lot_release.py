"""The lot after (or just before) QA's decision: the qualified person's certification, and a
conditional release waiting for its pending results — finalized when they land within their
limits, failed (a critical deviation; a hold unless already infused) when one does not.
A part of ``Lot`` (domain/lot.py), kept apart to keep each module small."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from v2v_runtime.domain import DomainEvent
from v2v_runtime.errors import Conflict

from .common import QUALIFIED_PERSON, Who, require_role
from .events import LotReleased
from .release_events import (
    ConditionalReleaseFailed,
    LotCertified,
    LotInfused,
    QpCertification,
    ReleaseFinalized,
)


class LotReleaseState:
    lot_id: str
    coi: str | None
    released: LotReleased | None

    def init_release_state(self) -> None:
        self.certification: QpCertification | None = None
        self.infusions: list[LotInfused] = []
        self.finalized: ReleaseFinalized | None = None
        self.failed: ConditionalReleaseFailed | None = None

    if TYPE_CHECKING:  # Aggregate's, which Lot also is

        def _record(self, event: DomainEvent) -> None: ...

    # -- commands --

    def certify(self, statement: str, by: Who, at: datetime) -> QpCertification:
        """The qualified person certifies the batch before its release (once)."""
        require_role(by, QUALIFIED_PERSON, "certifying a batch")
        if self.certification is not None:
            raise Conflict(
                "lot-already-certified",
                f"lot {self.lot_id} was certified by {self.certification.certified_by.user_id}",
            )
        if self.released is not None:
            raise Conflict("lot-already-decided", f"lot {self.lot_id} is already released")
        cert = QpCertification(certified_by=by, certified_at=at, statement=statement)
        self._record(LotCertified(lot_id=self.lot_id, certification=cert))
        return cert

    def note_infused(self, infusion_id: str, at: datetime) -> bool:
        """Custody infused the lot: noted while a conditional release awaits results."""
        if not self.awaiting or any(i.infusion_id == infusion_id for i in self.infusions):
            return False
        self._record(LotInfused(lot_id=self.lot_id, infusion_id=infusion_id, infused_at=at))
        return True

    def finalize(self, at: datetime) -> ReleaseFinalized:
        """Every pending result landed within its limit: the release is final."""
        assert self.released is not None and self.coi is not None and self.awaiting
        event = ReleaseFinalized(
            lot_id=self.lot_id,
            coi=self.coi,
            certificate_id=self.released.certificate.certificate_id,
            tests=self.pending_tests,
            finalized_at=at,
        )
        self._record(event)
        return event

    def fail_conditionally(
        self, tests: Sequence[str], deviation_id: str, at: datetime
    ) -> ConditionalReleaseFailed:
        """A pending result landed outside its limit (the critical deviation opened)."""
        assert self.coi is not None and self.awaiting
        event = ConditionalReleaseFailed(
            lot_id=self.lot_id,
            coi=self.coi,
            tests=list(tests),
            deviation_id=deviation_id,
            infused=bool(self.infusions),
            failed_at=at,
        )
        self._record(event)
        return event

    # -- state --

    def qp_blocker(self, required: bool) -> Conflict | None:
        """409 ``qp-certification-required`` where the site asks and the QP has not."""
        if not required or self.certification is not None:
            return None
        return Conflict(
            "qp-certification-required",
            f"the site of lot {self.lot_id} requires the qualified person's certification "
            f"before release (POST /lots/{self.lot_id}/certification)",
        )

    @property
    def pending_tests(self) -> list[str]:
        """The tests a conditional release listed pending (none: a final release)."""
        return [] if self.released is None else list(self.released.certificate.pending_tests)

    @property
    def awaiting(self) -> bool:
        """Conditionally released, and neither finalized nor failed yet."""
        return bool(self.pending_tests) and self.finalized is None and self.failed is None

    def awaits(self, test_code: str) -> bool:
        """Whether a result of ``test_code`` is still awaited after QA's decision."""
        return self.awaiting and test_code in self.pending_tests

    def apply_release(self, event: DomainEvent) -> None:
        match event:
            case LotCertified():
                self.certification = event.certification
            case LotInfused():
                self.infusions.append(event)
            case ReleaseFinalized():
                self.finalized = event
            case ConditionalReleaseFailed():
                self.failed = event
            case _:
                raise TypeError(f"lot cannot apply {type(event).__name__}")
