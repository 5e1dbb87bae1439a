"""A final-product lot's release as custody knows it: QA's decision, learnt from QC's events
(stream ``lot:<lot id>``). Kept apart from the units so that it does not matter which
arrives first, the lot's bags (batch's lot.produced) or QA's decision (QC's lot.released):
the two come on different topics, in no guaranteed order."""

from __future__ import annotations

from datetime import datetime

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict

from .events import (
    LotDisposition,
    LotExceptionalReleaseRecorded,
    LotReleaseRecorded,
    LotReleaseRejectionRecorded,
)

LOT_STREAM_PREFIX = "lot:"


class LotRelease(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.lot_id = id.removeprefix(LOT_STREAM_PREFIX)
        self.coi: str | None = None
        self.disposition: LotDisposition | None = None
        self.decided_at: datetime | None = None
        self.reason: str | None = None

    @staticmethod
    def stream_id(lot_id: str) -> str:
        return LOT_STREAM_PREFIX + lot_id

    @classmethod
    def of(cls, lot_id: str) -> LotRelease:
        return cls(cls.stream_id(lot_id))

    def record_release(
        self, coi: str, certificate_id: str, decided_at: datetime, now: datetime
    ) -> bool:
        """QA released the lot. Returns whether this is news (the same decision again
        changes nothing)."""
        if not self._new(coi, LotDisposition.RELEASED):
            return False
        self._record(
            LotReleaseRecorded(
                lot_id=self.lot_id,
                coi=coi,
                certificate_id=certificate_id,
                decided_at=decided_at,
                recorded_at=now,
            )
        )
        return True

    def record_release_rejected(
        self, coi: str, reason: str, decided_at: datetime, now: datetime
    ) -> bool:
        """QA rejected the lot's release. Returns whether this is news."""
        if not self._new(coi, LotDisposition.RELEASE_REJECTED):
            return False
        self._record(
            LotReleaseRejectionRecorded(
                lot_id=self.lot_id, coi=coi, reason=reason, decided_at=decided_at, recorded_at=now
            )
        )
        return True

    def record_exceptional_release(
        self, coi: str, decision_ref: str, decided_at: datetime, now: datetime
    ) -> bool:
        """QA released the lot out of specification at the physician's request: released,
        even after QA had rejected it (the rejection stays in the lot's history). Returns
        whether this is news."""
        if self.disposition is LotDisposition.RELEASED:
            self._new(coi, LotDisposition.RELEASED)  # the CoI must still match
            return False
        if self.coi is not None and self.coi != coi:
            self._new(coi, LotDisposition.RELEASED)  # raises lot-coi-mismatch
        self._record(
            LotExceptionalReleaseRecorded(
                lot_id=self.lot_id,
                coi=coi,
                decision_ref=decision_ref,
                decided_at=decided_at,
                recorded_at=now,
            )
        )
        return True

    def released_for(self, coi: str) -> bool:
        return self.disposition is LotDisposition.RELEASED and self.coi == coi

    def _new(self, coi: str, disposition: LotDisposition) -> bool:
        if self.coi is not None and self.coi != coi:
            raise Conflict(
                "lot-coi-mismatch",
                f"lot {self.lot_id} belongs to another chain of identity",
                lot_id=self.lot_id,
            )
        if self.disposition is None:
            return True
        if self.disposition is disposition:
            return False
        # QC decides a lot once: a second, different decision is not custody's to choose.
        raise Conflict(
            "lot-already-decided",
            f"QA's decision on lot {self.lot_id} is already recorded: {self.disposition.value}",
            lot_id=self.lot_id,
            disposition=self.disposition.value,
        )

    def apply(self, event: DomainEvent) -> None:
        match event:
            case LotReleaseRecorded():
                self.coi, self.disposition = event.coi, LotDisposition.RELEASED
                self.decided_at = event.decided_at
            case LotExceptionalReleaseRecorded():
                self.coi, self.disposition = event.coi, LotDisposition.RELEASED
                self.decided_at, self.reason = event.decided_at, None
            case LotReleaseRejectionRecorded():
                self.coi, self.disposition = event.coi, LotDisposition.RELEASE_REJECTED
                self.decided_at, self.reason = event.decided_at, event.reason
            case _:
                raise TypeError(f"LotRelease cannot apply {type(event).__name__}")
