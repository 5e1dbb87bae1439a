"""QC's projection of a batch's executed record from batch's public events
(batch.mbr-step.recorded, batch.record.reviewed), and the release's check on it: a lot whose
batch was executed from a master batch record waits for QA's review of that record."""

from __future__ import annotations

from v2v_events.contracts import batch
from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict
from v2v_runtime.uow import UnitOfWork

from ..domain.batch_record import BatchRecord, RecordReviewNoted, batch_record_stream
from ..domain.lot import Lot
from . import messages


async def record_of(uow: UnitOfWork, batch_id: str) -> BatchRecord:
    found = await uow.repository(BatchRecord).find(batch_record_stream(batch_id))
    return found or BatchRecord.of(batch_id)


async def _save(uow: UnitOfWork, record: BatchRecord, actor: Actor) -> None:
    await uow.repository(BatchRecord).save(record, messages.who(actor).model_dump())


async def note_mbr_step(uow: UnitOfWork, msg: batch.MbrStepRecorded) -> None:
    record = await record_of(uow, msg.batch_id)
    m = msg.mbr
    if record.note_mbr(msg.coi, msg.batch_id, m.product_code, m.site, m.version):
        await _save(uow, record, msg.actor)


async def note_record_reviewed(uow: UnitOfWork, msg: batch.BatchRecordReviewed) -> None:
    record = await record_of(uow, msg.batch_id)
    review = RecordReviewNoted(
        coi=msg.coi,
        batch_id=msg.batch_id,
        product_code=msg.mbr.product_code,
        site=msg.mbr.site,
        version=msg.mbr.version,
        exceptions=msg.exceptions,
        corrections=msg.corrections,
        late_entries=msg.late_entries,
        reviewed_at=msg.reviewed_at,
        reviewed_by=messages.who(msg.actor),
    )
    if record.note_review(review):
        await _save(uow, record, msg.actor)


async def batch_record_of(uow: UnitOfWork, lot: Lot) -> BatchRecord | None:
    """The record of the batch the lot was made in; None before QC knows the batch."""
    if lot.registered is None:
        return None
    return await record_of(uow, lot.registered.batch_id)


async def batch_record_blocker(uow: UnitOfWork, lot: Lot) -> Conflict | None:
    record = await batch_record_of(uow, lot)
    return None if record is None else record.review_blocker(lot.lot_id)


async def require_batch_record_reviewed(uow: UnitOfWork, lot: Lot) -> None:
    """409 ``batch-record-review-missing`` while the lot's MBR-executed batch record is not
    reviewed (nothing is applied: called before anything is saved)."""
    blocked = await batch_record_blocker(uow, lot)
    if blocked is not None:
        raise blocked
