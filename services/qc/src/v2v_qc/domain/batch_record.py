"""QC's view of a batch's executed record (stream ``qc-batch-record:<batch id>``), projected
from manufacturing's public events: that the batch is executed from a master batch record
(its first ``batch.mbr-step.recorded``: ``batch.opened`` does not say) and QA's review by
exception of that record (``batch.record.reviewed``: every exception dispositioned, the
corrections and late entries seen, signed). A lot whose batch was executed from an MBR is
not released before its record is reviewed (EU GMP Part IV §11.4; 21 CFR 211.192 in the US); a batch
of the fixed process steps has no executed record to review.

Each fact is noted once, so a message delivered again changes nothing."""

from __future__ import annotations

from datetime import datetime

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict

from .common import Who

STREAM_PREFIX = "qc-batch-record:"


def batch_record_stream(batch_id: str) -> str:
    return f"{STREAM_PREFIX}{batch_id}"


class MbrExecutionNoted(DomainEvent):
    """The batch is executed from this MBR version (its first step recorded said so)."""

    kind = "batch-record.mbr-noted"

    coi: str
    batch_id: str
    product_code: str
    site: str
    version: int


class RecordReviewNoted(DomainEvent):
    """QA reviewed the executed record by exception and signed (in the batch service)."""

    kind = "batch-record.review-noted"

    coi: str
    batch_id: str
    product_code: str
    site: str
    version: int
    exceptions: int
    corrections: int
    late_entries: int
    reviewed_at: datetime
    reviewed_by: Who


BATCH_RECORD_EVENTS: tuple[type[DomainEvent], ...] = (MbrExecutionNoted, RecordReviewNoted)


class BatchRecord(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.mbr: MbrExecutionNoted | None = None
        self.review: RecordReviewNoted | None = None

    @classmethod
    def of(cls, batch_id: str) -> BatchRecord:
        return cls(batch_record_stream(batch_id))

    def note_mbr(self, coi: str, batch_id: str, product_code: str, site: str, version: int) -> bool:
        """False (nothing recorded) when the MBR is known already."""
        if self.mbr is not None:
            return False
        self._record(
            MbrExecutionNoted(
                coi=coi, batch_id=batch_id, product_code=product_code, site=site, version=version
            )
        )
        return True

    def note_review(self, review: RecordReviewNoted) -> bool:
        """False (nothing recorded) when the review is known already. A review also says the
        batch is executed from its MBR (should its steps' messages be missing)."""
        if self.review is not None:
            return False
        self.note_mbr(review.coi, review.batch_id, review.product_code, review.site, review.version)
        self._record(review)
        return True

    # -- state --

    @property
    def batch_id(self) -> str:
        return self.id.removeprefix(STREAM_PREFIX)

    @property
    def executed_from_mbr(self) -> bool:
        return self.mbr is not None

    def review_blocker(self, lot_id: str) -> Conflict | None:
        """409 ``batch-record-review-missing`` while the lot's batch, executed from an MBR,
        has no reviewed record; None otherwise (reviewed, or no executed record)."""
        if self.mbr is None or self.review is not None:
            return None
        batch_id, mbr = self.batch_id, self.mbr
        return Conflict(
            "batch-record-review-missing",
            f"lot {lot_id} cannot be released: the executed record of batch {batch_id} "
            f"(MBR {mbr.product_code} v{mbr.version}) is not reviewed — QA reviews it by "
            f"exception in the batch service (POST /batches/{batch_id}/review)",
            lot_id=lot_id,
            batch_id=batch_id,
        )

    def apply(self, event: DomainEvent) -> None:
        match event:
            case MbrExecutionNoted():
                self.mbr = event
            case RecordReviewNoted():
                self.review = event
            case _:
                raise TypeError(f"batch record cannot apply {type(event).__name__}")
