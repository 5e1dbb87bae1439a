"""The equipment port of step execution, and using an instrument at a step of an open
batch through HTTP with it.

``Equipment(uow, window)``:

- ``check_use(equipment_id, equipment_type, at, use)``: the instrument, unless it is not
  of that type, not at the batch's site or not in service at ``at`` (out of service, or
  past its calibration or maintenance due time) — refused with a 422 ``RecordedRefusal``;
- ``check_operator(equipment_id, at, use)``: the person (``use.by``) holds the operator
  qualification the instrument asks for, if any, at ``at`` — else 403 not-qualified, a
  ``RecordedRefusal`` too (call it once the performer is known: the signer);
- ``log_use(equipment_id, at, use)``: the use enters the instrument's usage log.

A ``RecordedRefusal`` is kept in the instrument's usage log by the HTTP layer once the
act's transaction has rolled back: ``async with keeping_refusals(uow), uow: ...``
(adapters/http/refusals.py). An instrument not in the register is a plain 422
equipment-unknown (no usage log to keep it in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict, DomainError
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain import Batch, Step
from ..domain.equipment import Instrument
from ..domain.equipment_events import EquipmentUsed
from ..domain.steps import check_order
from ..domain.training import NotQualified
from .common import operator, who
from .qualifications import Qualifications
from .refusals import Record, RecordedRefusal


@dataclass(frozen=True)
class BatchUse:
    """A use at ``step`` of an open batch (its CoI and manufacturing site), by ``by``."""

    batch_id: str
    coi: str
    site: str
    step: str
    by: Actor


class Equipment:
    def __init__(self, uow: UnitOfWork, window: ReportedTimeWindow) -> None:
        self._uow = uow
        self._window = window

    async def check_use(
        self, equipment_id: str, equipment_type: str | None, at: datetime, use: BatchUse
    ) -> Instrument:
        """The instrument, if it may be used at ``at`` for ``use``; else the refusal."""
        now = self._uow.clock.now()
        self._window.check(at, now, field="used_at", what="equipment-use")
        inst = await self._uow.repository(Instrument).find(Instrument.stream_for(equipment_id))
        if inst is None:
            raise DomainError(
                "equipment-unknown",
                f"no equipment {equipment_id!r} in the register",
                field="equipment_id",
            )
        try:
            inst.check_use(equipment_type, at, use.site)
        except DomainError as refusal:
            raise RecordedRefusal(refusal, _recorder(equipment_id, refusal, at, use)) from None
        return inst

    async def check_operator(self, equipment_id: str, at: datetime, use: BatchUse) -> None:
        """``use.by`` holds the instrument's operator qualification (if any) at ``at``."""
        inst = await self._uow.repository(Instrument).get(Instrument.stream_for(equipment_id))
        required = inst.info().operator_qualification
        if required is None:
            return
        try:
            await Qualifications(self._uow).check(use.by.user_id, required, at)
        except NotQualified as refusal:
            raise RecordedRefusal(refusal, _recorder(equipment_id, refusal, at, use)) from None

    async def log_use(self, equipment_id: str, at: datetime, use: BatchUse) -> EquipmentUsed:
        repo = self._uow.repository(Instrument)
        inst = await repo.get(Instrument.stream_for(equipment_id))
        now = self._uow.clock.now()
        used = inst.log_use(
            batch_id=use.batch_id,
            coi=use.coi,
            step=use.step,
            used_at=at,
            used_by=operator(use.by),
            recorded_at=now,
            late=self._window.is_late(at, now),
        )
        await repo.save(inst, who(use.by))
        return used


def _recorder(equipment_id: str, refusal: DomainError, at: datetime, use: BatchUse) -> Record:
    """How the refused use is recorded in the instrument's usage log."""

    async def record(uow: UnitOfWork) -> None:
        repo = uow.repository(Instrument)
        inst = await repo.get(Instrument.stream_for(equipment_id))
        inst.refuse_use(
            refusal,
            batch_id=use.batch_id,
            coi=use.coi,
            step=use.step,
            at=at,
            by=operator(use.by),
            recorded_at=uow.clock.now(),
        )
        await repo.save(inst, who(use.by))

    return record


async def open_batch_use(uow: UnitOfWork, batch_id: str, step: str, by: Actor) -> BatchUse:
    """A use at ``step`` of batch ``batch_id``: the step being performed (the batch's next
    one) of an open batch (no lot produced yet)."""
    batch = await uow.repository(Batch).get(batch_id)
    if batch.lot is not None:
        raise Conflict(
            "batch-closed",
            f"batch {batch_id} has produced lot {batch.lot.lot_id}: nothing is used in it any more",
        )
    if step not in {s.value for s in Step}:
        raise DomainError("step-unknown", f"batch {batch_id} has no step {step!r}", field="step")
    check_order(batch_id, Step(step), batch.steps, batch.next_step)
    return BatchUse(
        batch_id=batch_id, coi=batch.coi, site=batch.manufacturing_site, step=step, by=by
    )


async def use_equipment(
    uow: UnitOfWork,
    batch_id: str,
    step: str,
    equipment_id: str,
    equipment_type: str | None,
    at: datetime,
    window: ReportedTimeWindow,
    by: Actor,
) -> EquipmentUsed:
    """``by`` uses an instrument at the step being performed of an open batch: checked
    (the instrument, then ``by``'s operator qualification), then logged."""
    use = await open_batch_use(uow, batch_id, step, by)
    equipment = Equipment(uow, window)
    await equipment.check_use(equipment_id, equipment_type, at, use)
    await equipment.check_operator(equipment_id, at, use)
    return await equipment.log_use(equipment_id, at, use)
