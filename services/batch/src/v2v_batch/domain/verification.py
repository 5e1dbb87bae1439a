"""Second-person verification of a recorded step: which steps still need it, which step
may be verified now, and by whom (never its performer: separation of duties)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from v2v_runtime.errors import Conflict, DomainError

from .events import Operator
from .process import STEP_ORDER, Step
from .steps import StepRecord


class SeparationOfDuties(DomainError):
    """One person may not both do and check the same work (HTTP 403)."""

    status = 403
    title = "Forbidden"


def unverified(needed: Collection[Step], steps: Mapping[Step, StepRecord]) -> list[Step]:
    """The recorded steps of ``needed`` no second person has verified yet, in process order."""
    return [s for s in STEP_ORDER if s in needed and s in steps and steps[s].verified_by is None]


def verifiable(batch_id: str, step: Step, record: StepRecord | None) -> StepRecord:
    """``record`` if a second person may verify it: recorded, not yet verified, and its
    performer known (steps recorded before steps were signed name none)."""
    if record is None:
        raise Conflict("step-not-recorded", f"{step.value} is not recorded in batch {batch_id}")
    if record.verified_by is not None:
        raise Conflict(
            "step-already-verified",
            f"{step.value} of batch {batch_id} was verified by {record.verified_by.user_id}",
        )
    if record.performed_by is None:
        raise Conflict(
            "step-performer-unknown",
            f"{step.value} of batch {batch_id} was recorded before steps were signed: whether "
            "the verifier performed it cannot be shown",
        )
    return record


def check_verifier(batch_id: str, record: StepRecord, verifier: Operator) -> None:
    """The verifier is another person than the step's performer."""
    if record.performed_by is None or verifier.user_id == record.performed_by.user_id:
        raise SeparationOfDuties(
            "verification-by-performer",
            f"{verifier.user_id!r} performed {record.step.value} of batch {batch_id}: another "
            "person verifies it",
        )


def require_verified(batch_id: str, missing: list[Step], configuration: str) -> None:
    """The lot waits for every step its configuration has verified."""
    if missing:
        names = [s.value for s in missing]
        raise Conflict(
            "unverified-steps",
            f"a second person verifies {', '.join(names)} of batch {batch_id} before the lot "
            f"is produced (configuration {configuration})",
            steps=names,
        )
