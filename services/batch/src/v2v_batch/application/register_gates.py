"""The registers' gates at a step of an MBR-executed batch (issue 13 §3-§5): the material
lots scanned (``MaterialLots``), the instruments used (``Equipment``) and the performer's
qualification (``Qualifications``), each checked at the time the step was done.

- before anyone signs: every scan and every instrument - a refusal is recorded by its
  register (the lot's batch materials, the instrument's usage log) and answers 422;
- once the signer is known: training on the step's SOP and the step's practical
  qualification (403 not-qualified), and each instrument's operator qualification (403,
  kept in its usage log); the same for who verifies the step, when they sign;
- after the step is recorded, in its transaction: each lot drawn down and entered in the
  batch's genealogy, each use entered in the instrument's usage log.

Materials are checked at the step's start (a lot must not have expired when taken), an
instrument at the step's end (its calibration must hold for the whole use)."""

from __future__ import annotations

from datetime import datetime

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain import Batch, Operator
from ..domain.batch_materials import MaterialUse
from ..domain.mbr_content import MbrStep
from ..domain.training import sop_code
from .consume_material import MaterialLots
from .equipment_use import BatchUse, Equipment
from .qualifications import Qualifications
from .step_gates import StepUse


def _scans(use: StepUse) -> list[MaterialUse]:
    return [
        MaterialUse(
            material_code=m.material_code, lot_id=m.lot_id, quantity=m.quantity, unit=m.unit
        )
        for m in use.entry.materials
    ]


def _batch_use(use: StepUse, by: Actor) -> BatchUse:
    return BatchUse(
        batch_id=use.batch.id,
        coi=use.batch.coi,
        site=use.batch.manufacturing_site,
        step=use.step.step_id,
        by=by,
    )


def _actor(performer: Operator) -> Actor:
    return Actor(user_id=performer.user_id, role=performer.role)


async def _qualified(uow: UnitOfWork, step: MbrStep, person: Operator, at: datetime) -> None:
    """``person`` is trained on the step's SOP (a version not lapsed) and holds the step's
    qualification, if it names one, at ``at``; else 403 not-qualified."""
    qualifications = Qualifications(uow)
    await qualifications.check(person.user_id, sop_code(step.sop.document_id), at)
    if step.qualification is not None:
        await qualifications.check(person.user_id, step.qualification, at)


class RegisterGates:
    """The step gates of the batch service's own registers."""

    def __init__(self, window: ReportedTimeWindow) -> None:
        self._window = window

    async def before_signing(self, uow: UnitOfWork, use: StepUse) -> None:
        started, ended = use.entry.started_at, use.entry.ended_at
        await MaterialLots(uow).check_scans(
            use.batch, use.step.step_id, _scans(use), use.by, at=started
        )
        equipment = Equipment(uow, self._window)
        for e in use.entry.equipment:
            await equipment.check_use(
                e.equipment_id, e.equipment_type, ended, _batch_use(use, use.by)
            )

    async def check_performer(self, uow: UnitOfWork, use: StepUse, performer: Operator) -> None:
        await _qualified(uow, use.step, performer, use.entry.started_at)
        equipment = Equipment(uow, self._window)
        by = _batch_use(use, _actor(performer))
        for e in use.entry.equipment:
            await equipment.check_operator(e.equipment_id, use.entry.started_at, by)

    async def after_recording(self, uow: UnitOfWork, use: StepUse, performer: Operator) -> None:
        by = _actor(performer)
        lots = MaterialLots(uow)
        for scan in _scans(use):
            await lots.consume(use.batch, use.step.step_id, scan, by, at=use.entry.started_at)
        equipment = Equipment(uow, self._window)
        for e in use.entry.equipment:
            await equipment.log_use(e.equipment_id, use.entry.ended_at, _batch_use(use, by))

    async def check_verifier(
        self, uow: UnitOfWork, batch: Batch, step: MbrStep, verifier: Operator, at: datetime
    ) -> None:
        await _qualified(uow, step, verifier, at)
