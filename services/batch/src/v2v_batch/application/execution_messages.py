"""An MBR-executed batch's state -> public contracts (v2v_events.contracts.batch)."""

from __future__ import annotations

from v2v_events.contracts import batch as contracts
from v2v_events.contracts.common import Actor

from ..domain import Batch
from ..domain.execution_events import BatchExceptionRaised, MbrStepPerformed, RecordReviewed
from ..domain.mbr_content import MbrContent


def mbr_ref(batch: Batch) -> contracts.MbrRef:
    pin = batch.pinned
    assert pin is not None
    return contracts.MbrRef(product_code=pin.product_code, site=pin.site, version=pin.version)


def mbr_step_recorded(
    batch: Batch, content: MbrContent, done: MbrStepPerformed, actor: Actor
) -> contracts.MbrStepRecorded:
    step = content.step(done.step_id)
    assert step is not None
    return contracts.MbrStepRecorded(
        coi=batch.coi,
        batch_id=batch.id,
        mbr=mbr_ref(batch),
        step_id=step.step_id,
        step_name=step.name,
        operation_name=content.operation_of(step.step_id).name,
        position=content.position(step.step_id),
        step_count=len(content.steps),
        room=done.room,
        started_at=done.started_at,
        ended_at=done.ended_at,
        actor=actor,
    )


def exception_raised(
    batch: Batch, content: MbrContent, raised: BatchExceptionRaised, actor: Actor
) -> contracts.BatchExceptionRaised:
    step = content.step(raised.step_id)
    assert step is not None
    return contracts.BatchExceptionRaised(
        coi=batch.coi,
        batch_id=batch.id,
        exception_id=raised.exception_id,
        mbr=mbr_ref(batch),
        step_id=step.step_id,
        step_name=step.name,
        kind=contracts.BatchExceptionKind(raised.exception_kind.value),
        parameter=raised.parameter,
        value=raised.value,
        limit=raised.limit,
        detail=raised.detail,
        manufacturing_site=batch.manufacturing_site,
        raised_at=raised.raised_at,
        actor=actor,
    )


def record_reviewed(
    batch: Batch, reviewed: RecordReviewed, actor: Actor
) -> contracts.BatchRecordReviewed:
    return contracts.BatchRecordReviewed(
        coi=batch.coi,
        batch_id=batch.id,
        mbr=mbr_ref(batch),
        exceptions=reviewed.exceptions,
        corrections=reviewed.corrections,
        late_entries=reviewed.late_entries,
        reviewed_at=reviewed.reviewed_at,
        actor=actor,
    )
