"""The gates of the registers at a step of an MBR-executed batch: the materials scanned
(material lots released, unexpired, of the quantity), the instruments used (in service,
calibration not overdue) and the performer's qualification. The step's own checks (the
materials, equipment types and units the MBR asks for) are the domain's (``entries``);
these are the registers' (issue 13 §3-§5), called by ``perform_step``:

- ``before_signing``: what the registers refuse is refused before anyone signs (a refused
  material scan is recorded by the materials register, its own transaction);
- ``check_performer``: the signer (known once signed) is qualified for the step now;
- ``after_recording``: the lots are consumed and each instrument's use logged, in the
  step's transaction;
- ``check_verifier``: the second person (the signer) is qualified for the step now.

A refused scan or use is recorded although the act rolls back: the route runs the act inside
``keeping_refusals(uow)`` (adapters/http/refusals.py; the registers raise a
``RecordedRefusal`` that it records in a transaction of its own).

``RegisterGates`` (register_gates.py) are the service's; ``MbrOnly`` refuses nothing more
than the MBR does — for tests of the record itself, apart from the registers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain import Batch, Operator
from ..domain.entries import StepEntry
from ..domain.mbr_content import MbrStep


@dataclass(frozen=True)
class StepUse:
    """A step about to be (or just) performed: what its gates look at."""

    batch: Batch
    step: MbrStep
    entry: StepEntry
    at: datetime  # when it is recorded
    by: Actor  # whose session scans the lots and instruments (the performer signs later)


class StepGates(Protocol):
    async def before_signing(self, uow: UnitOfWork, use: StepUse) -> None: ...

    async def check_performer(self, uow: UnitOfWork, use: StepUse, performer: Operator) -> None: ...

    async def after_recording(self, uow: UnitOfWork, use: StepUse, performer: Operator) -> None: ...

    async def check_verifier(
        self, uow: UnitOfWork, batch: Batch, step: MbrStep, verifier: Operator, at: datetime
    ) -> None: ...


class MbrOnly:
    """No register behind the gates: the MBR's own checks only (tests of the record)."""

    async def before_signing(self, uow: UnitOfWork, use: StepUse) -> None:
        return None

    async def check_performer(self, uow: UnitOfWork, use: StepUse, performer: Operator) -> None:
        return None

    async def after_recording(self, uow: UnitOfWork, use: StepUse, performer: Operator) -> None:
        return None

    async def check_verifier(
        self, uow: UnitOfWork, batch: Batch, step: MbrStep, verifier: Operator, at: datetime
    ) -> None:
        return None
