"""Executing a batch from the MBR version it pinned: its steps in the MBR's order, each
entry checked against the step; a critical parameter out of limits or a hold time exceeded
records an exception; corrections keep the old value and give a reason; second-person
verification; QA's disposition of each exception; the signed review by exception.

``ExecutesMbr`` is the part of the Batch aggregate that does this (Batch derives from it);
a batch opened without an effective MBR keeps the fixed process steps instead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError, NotFound

from .checks import check_identifier
from .entries import (
    EntryRefused,
    StepEntry,
    check_equipment,
    check_materials,
    checked_values,
    hold_exceeded,
)
from .events import Operator, Source
from .execution_events import (
    BatchExceptionRaised,
    EnteredValue,
    EntryCorrected,
    ExceptionDispositioned,
    ExceptionKind,
    MbrPinned,
    MbrStepPerformed,
    MbrStepVerified,
    RecordReviewed,
)
from .lot import Lot
from .mbr_content import MbrContent, MbrStep
from .verification import SeparationOfDuties


@dataclass(frozen=True)
class PerformedStep:
    performed: MbrStepPerformed
    values: tuple[EnteredValue, ...]  # as they stand after corrections
    verified: MbrStepVerified | None = None
    corrections: tuple[EntryCorrected, ...] = ()
    voided: tuple[MbrStepVerified, ...] = ()  # verifications a later correction voided

    def value(self, name: str) -> EnteredValue | None:
        return next((v for v in self.values if v.name == name), None)


@dataclass(frozen=True)
class ExceptionRecord:
    raised: BatchExceptionRaised
    disposition: ExceptionDispositioned | None = None


# An integer parameter of this name keeps aliquots of the apheresis material back for
# re-manufacture (the fixed steps' retained_aliquots at selection).
RETAINED_ALIQUOTS = "retained_aliquots"


class ExecutesMbr(Aggregate):
    """The MBR execution rules of a batch (state kept by ``apply_execution``)."""

    opened_at: datetime | None
    lot: Lot | None
    source: Source

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.pinned: MbrPinned | None = None
        self.performed: dict[str, PerformedStep] = {}
        self.exceptions: dict[str, ExceptionRecord] = {}
        self.review: RecordReviewed | None = None

    # --- state ---------------------------------------------------------------------------

    def next_mbr_step(self, content: MbrContent) -> MbrStep | None:
        return next((s for s in content.steps if s.step_id not in self.performed), None)

    def unverified_mbr_steps(self, content: MbrContent) -> list[str]:
        return [
            s.step_id
            for s in content.steps
            if s.verified and s.step_id in self.performed and not self.performed[s.step_id].verified
        ]

    @property
    def undispositioned(self) -> list[str]:
        return [i for i, e in self.exceptions.items() if e.disposition is None]

    def _mbr(self, content: MbrContent) -> MbrPinned:
        if self.pinned is None:
            raise Conflict("batch-has-no-mbr", f"batch {self.id} follows the fixed process steps")
        if content.content_hash() != self.pinned.content_hash:
            raise RuntimeError(f"batch {self.id} pinned other MBR content")  # a caller's bug
        return self.pinned

    def _open_record(self, content: MbrContent) -> None:
        self._mbr(content)
        if self.review is not None:
            raise Conflict("record-reviewed", f"the record of batch {self.id} is reviewed")

    # --- commands ------------------------------------------------------------------------

    def pin_mbr(self, *, product_code: str, site: str, version: int, content: MbrContent) -> None:
        self._record(
            MbrPinned(
                product_code=product_code,
                site=site,
                version=version,
                content_hash=content.content_hash(),
                title=content.title,
                step_ids=tuple(s.step_id for s in content.steps),
            )
        )

    def check_perform(self, content: MbrContent, entry: StepEntry, *, now: datetime) -> MbrStep:
        """The step ``entry`` performs if it may be recorded now; refused before signing."""
        self._open_record(content)
        if self.lot is not None:
            raise Conflict("lot-already-produced", f"batch {self.id} has produced its lot")
        step = content.step(entry.step_id)
        if step is None:
            raise NotFound("step-not-in-mbr", f"the batch's MBR has no step {entry.step_id!r}")
        if entry.step_id in self.performed:
            raise Conflict(
                "step-already-recorded",
                f"{entry.step_id} is recorded in batch {self.id}: correct a value instead",
            )
        expected = self.next_mbr_step(content)
        if expected is not None and expected.step_id != entry.step_id:
            raise Conflict(
                "step-out-of-order",
                f"{entry.step_id} cannot be recorded before {expected.step_id}",
                expected_step=expected.step_id,
            )
        check_identifier("room", entry.room)
        if entry.ended_at < entry.started_at:
            raise EntryRefused("step-ends-before-it-starts", "ended_at", "before started_at")
        if entry.ended_at > now:
            raise EntryRefused(
                "step-ends-in-the-future", "ended_at", "a step is recorded once ended"
            )
        if entry.started_at < self._since():
            raise EntryRefused(
                "step-starts-before-previous-ended",
                "started_at",
                f"before {self._since().isoformat()}, the end of the step before",
            )
        values = checked_values(step, entry.values)
        if self.source is Source.RETAINED_APHERESIS and retained(values):
            raise EntryRefused(
                "no-retention-from-retained-material",
                f"values.{RETAINED_ALIQUOTS}",
                "a batch made from retained material cannot retain aliquots again",
            )
        check_materials(step, entry.materials)
        check_equipment(step, entry.equipment)
        return step

    def _since(self) -> datetime:
        last = list(self.performed.values())[-1].performed.ended_at if self.performed else None
        assert self.opened_at is not None
        return last or self.opened_at

    def perform_step(
        self,
        content: MbrContent,
        entry: StepEntry,
        *,
        now: datetime,
        late: bool,
        performed_by: Operator,
        signature_id: str,
        new_id: Callable[[], str],
    ) -> list[BatchExceptionRaised]:
        """Record the step as its performer signed it; the exceptions it raised."""
        step = self.check_perform(content, entry, now=now)
        since = self._since()
        values = checked_values(step, entry.values)
        self._record(
            MbrStepPerformed(
                step_id=step.step_id,
                room=entry.room,
                started_at=entry.started_at,
                ended_at=entry.ended_at,
                values=values,
                materials=entry.materials,
                equipment=entry.equipment,
                comment=entry.comment,
                recorded_at=now,
                late=late,
                performed_by=performed_by,
                signature_id=signature_id,
            )
        )
        raised = [self._out_of_limits(step, v, now, new_id) for v in values]
        held = hold_exceeded(step, since, entry.started_at)
        if held is not None:
            raised.append(
                self._raise(
                    BatchExceptionRaised(
                        exception_id=new_id(),
                        step_id=step.step_id,
                        exception_kind=ExceptionKind.HOLD_TIME_EXCEEDED,
                        limit=f"<= {step.max_hold_minutes} min",
                        value=f"{held.total_seconds() / 60:.0f} min",
                        detail=f"{step.name}: started {held.total_seconds() / 60:.0f} min after "
                        f"the step before ended; the MBR allows {step.max_hold_minutes} min",
                        raised_at=now,
                    )
                )
            )
        return [r for r in raised if r is not None]

    def _out_of_limits(
        self, step: MbrStep, v: EnteredValue, now: datetime, new_id: Callable[[], str]
    ) -> BatchExceptionRaised | None:
        p = step.parameter(v.name)
        if p is None or not p.critical or v.within_limits is not False:
            return None
        shown = f"{v.value:g}" if isinstance(v.value, float) else str(v.value)
        unit = f" {v.unit}" if v.unit else ""
        return self._raise(
            BatchExceptionRaised(
                exception_id=new_id(),
                step_id=step.step_id,
                exception_kind=ExceptionKind.CRITICAL_PARAMETER_OUT_OF_LIMITS,
                parameter=p.name,
                value=f"{shown}{unit}",
                limit=p.limits_text(),
                detail=f"{step.name}: {p.label} {shown}{unit} is outside {p.limits_text()} "
                "(critical parameter)",
                raised_at=now,
            )
        )

    def _raise(self, event: BatchExceptionRaised) -> BatchExceptionRaised:
        self._record(event)
        return event

    def check_mbr_verification(self, content: MbrContent, step_id: str) -> PerformedStep:
        self._open_record(content)
        done = self.performed.get(step_id)
        if done is None:
            raise Conflict("step-not-recorded", f"{step_id} is not recorded in batch {self.id}")
        if done.verified is not None:
            raise Conflict(
                "step-already-verified",
                f"{step_id} of batch {self.id} was verified by {done.verified.verified_by.user_id}",
            )
        return done

    def verify_mbr_step(
        self,
        content: MbrContent,
        step_id: str,
        *,
        verifier: Operator,
        at: datetime,
        signature_id: str,
    ) -> None:
        done = self.check_mbr_verification(content, step_id)
        people = {done.performed.performed_by.user_id} | {
            c.corrected_by.user_id for c in done.corrections
        }
        if verifier.user_id in people:
            raise SeparationOfDuties(
                "verification-by-performer",
                f"{verifier.user_id!r} performed or corrected {step_id} of batch {self.id}: "
                "another person verifies it",
            )
        self._record(
            MbrStepVerified(
                step_id=step_id, verified_by=verifier, verified_at=at, signature_id=signature_id
            )
        )

    def require_mbr_complete(self, content: MbrContent) -> datetime:
        """The lot waits for every step of the MBR and their verifications: the end of
        the last step (when the lot exists)."""
        self._mbr(content)
        missing = [s.step_id for s in content.steps if s.step_id not in self.performed]
        if missing:
            raise Conflict("steps-outstanding", f"{', '.join(missing)} not recorded", steps=missing)
        unverified = self.unverified_mbr_steps(content)
        if unverified:
            raise Conflict(
                "unverified-steps",
                f"a second person verifies {', '.join(unverified)} before the lot is produced",
                steps=unverified,
            )
        return self.performed[content.steps[-1].step_id].performed.ended_at

    # --- applying ------------------------------------------------------------------------

    def apply_execution(self, event: DomainEvent) -> bool:
        """Fold an MBR execution event into the state; False for any other event."""
        match event:
            case MbrPinned():
                self.pinned = event
            case MbrStepPerformed():
                self.performed[event.step_id] = PerformedStep(event, event.values)
            case MbrStepVerified():
                self.performed[event.step_id] = replace(
                    self.performed[event.step_id], verified=event
                )
            case EntryCorrected():
                done = self.performed[event.step_id]
                names = [v.name for v in done.values]
                values = list(done.values)
                if event.new.name in names:
                    values[names.index(event.new.name)] = event.new
                else:
                    values.append(event.new)
                self.performed[event.step_id] = replace(
                    done,
                    values=tuple(values),
                    verified=None,  # a changed record is verified again
                    voided=done.voided + ((done.verified,) if done.verified else ()),
                    corrections=(*done.corrections, event),
                )
            case BatchExceptionRaised():
                self.exceptions[event.exception_id] = ExceptionRecord(event)
            case ExceptionDispositioned():
                record = self.exceptions[event.exception_id]
                self.exceptions[event.exception_id] = replace(record, disposition=event)
            case RecordReviewed():
                self.review = event
            case _:
                return False
        return True


def retained(values: tuple[EnteredValue, ...]) -> int:
    """The aliquots a step's values keep back (0: none)."""
    kept = next((v.value for v in values if v.name == RETAINED_ALIQUOTS), 0)
    return kept if isinstance(kept, int) and not isinstance(kept, bool) and kept > 0 else 0


def no_mbr_steps(batch_id: str) -> DomainError:
    return Conflict("batch-follows-mbr", f"batch {batch_id} is executed from its MBR's steps")
