"""What custody's use cases need from storage beyond the event store. Implemented in
``adapters/db``, registered in the service's ``Persistence.ports`` (bootstrap.py) and
obtained with ``uow.port(Protocol)``, bound to the unit of work's transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Literal, Protocol

from v2v_events.contracts.common import Actor

from ..domain.identity import PatientIdentity

SequenceName = Literal["coi", "din"]

# Signs the act about to be recorded (Part 11): called by a use case once the act is checked
# and before anything is saved, only when something new is recorded (a repeated report
# signs nothing). Answers who acts: the signer, re-authenticated (the HTTP layer's signing
# gate; it raises 428 with the content to sign while the signature is missing).
SignAct = Callable[[], Awaitable[Actor]]


class Sequences(Protocol):
    """Identifier counters (CoI and DIN numbers) per facility and year."""

    async def allocate(self, name: SequenceName, facility_id: str, year: int) -> int:
        """The next number of ``name`` for ``facility_id`` in ``year`` (from 1), taken in
        this transaction: rolled back with it, never handed out twice."""
        ...


class Enrolments(Protocol):
    """The guard against a second active enrolment of a patient at a treatment center."""

    async def active(self, treatment_center: str, person: PatientIdentity) -> str | None:
        """The CoI of the patient's enrolment at ``treatment_center`` whose journey has
        not ended, if there is one."""
        ...

    def guard(
        self, treatment_center: str, person: PatientIdentity
    ) -> AbstractAsyncContextManager[None]:
        """Around recording a new enrolment's identity: of concurrent enrolments of the
        same patient that all passed ``active``, one is kept; the others raise
        ``patient-already-enrolled`` naming it, with the rest of their transaction intact."""
        ...


class LotUnits(Protocol):
    """The units custody registered for a lot."""

    async def of_lot(self, coi: str, lot_id: str) -> list[str]:
        """The ids of lot ``lot_id``'s units of ``coi``, in the order they were registered."""
        ...
