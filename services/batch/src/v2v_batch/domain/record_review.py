"""Correcting a batch executed from its MBR, QA's disposition of its exceptions and the
review by exception of its record (the part of the Batch aggregate after the steps are
performed; ``execution`` performs and verifies them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from v2v_runtime.errors import Conflict, NotFound

from .entries import EntryRefused, ValueEntry, checked_value
from .events import Operator
from .execution import ExceptionRecord, ExecutesMbr
from .execution_events import (
    BatchExceptionRaised,
    Disposition,
    EnteredValue,
    EntryCorrected,
    ExceptionDispositioned,
    RecordReviewed,
)
from .mbr_content import MbrContent


class ReviewsMbrRecord(ExecutesMbr):
    """Corrections keep the old value and give a reason; every exception is dispositioned
    by QA before the record is reviewed; the reviewed record is closed."""

    def check_correction(
        self, content: MbrContent, step_id: str, name: str, entry: ValueEntry, reason: str
    ) -> tuple[EnteredValue, EnteredValue]:
        """(old, new) of a correction that may be made now; refused before signing."""
        self._open_record(content)
        done = self.performed.get(step_id)
        step = content.step(step_id)
        if done is None or step is None:
            raise Conflict("step-not-recorded", f"{step_id} is not recorded in batch {self.id}")
        p = step.parameter(name)
        if p is None:
            raise EntryRefused("parameter-unknown", "parameter", f"{step_id} has no {name!r}")
        if not reason.strip():
            raise EntryRefused("reason-required", "reason", "a correction gives its reason")
        new = checked_value(p, entry, "value")
        old = done.value(name)
        if old is not None and old.value == new.value:
            raise EntryRefused("correction-unchanged", "value", f"{name} is already {new.value!r}")
        return old or EnteredValue(name=name, value="(not entered)", unit=p.unit), new

    def correct_entry(
        self,
        content: MbrContent,
        step_id: str,
        name: str,
        entry: ValueEntry,
        reason: str,
        *,
        by: Operator,
        at: datetime,
        signature_id: str,
        new_id: Callable[[], str],
    ) -> BatchExceptionRaised | None:
        old, new = self.check_correction(content, step_id, name, entry, reason)
        self._record(
            EntryCorrected(
                step_id=step_id,
                old=old,
                new=new,
                reason=reason,
                corrected_by=by,
                corrected_at=at,
                signature_id=signature_id,
            )
        )
        step = content.step(step_id)
        assert step is not None
        return self._out_of_limits(step, new, at, new_id)

    def check_disposition(self, exception_id: str) -> ExceptionRecord:
        if self.pinned is None:
            raise Conflict("batch-has-no-mbr", f"batch {self.id} follows the fixed process steps")
        found = self.exceptions.get(exception_id)
        if found is None:
            raise NotFound(
                "exception-not-found", f"batch {self.id} has no exception {exception_id!r}"
            )
        if found.disposition is not None:
            raise Conflict("exception-dispositioned", f"exception {exception_id} is dispositioned")
        return found

    def disposition_exception(
        self,
        exception_id: str,
        disposition: Disposition,
        rationale: str,
        deviation_id: str | None,
        *,
        by: Operator,
        at: datetime,
        signature_id: str,
    ) -> None:
        self.check_disposition(exception_id)
        if not rationale.strip():
            raise EntryRefused(
                "rationale-required", "rationale", "a disposition gives its rationale"
            )
        self._record(
            ExceptionDispositioned(
                exception_id=exception_id,
                disposition=disposition,
                rationale=rationale,
                deviation_id=deviation_id,
                dispositioned_by=by,
                dispositioned_at=at,
                signature_id=signature_id,
            )
        )

    def check_review(self, content: MbrContent) -> None:
        """The record may be reviewed as complete: every step performed and verified where
        the MBR asks, every exception dispositioned."""
        self._open_record(content)
        missing = [s.step_id for s in content.steps if s.step_id not in self.performed]
        if missing:
            raise Conflict("steps-outstanding", f"{', '.join(missing)} not recorded", steps=missing)
        unverified = self.unverified_mbr_steps(content)
        if unverified:
            raise Conflict(
                "unverified-steps", f"{', '.join(unverified)} not verified", steps=unverified
            )
        if self.undispositioned:
            raise Conflict(
                "exceptions-undispositioned",
                f"QA dispositions every exception before the record is reviewed: "
                f"{', '.join(self.undispositioned)}",
                exception_ids=self.undispositioned,
            )

    def review_record(
        self, content: MbrContent, *, by: Operator, at: datetime, signature_id: str
    ) -> RecordReviewed:
        self.check_review(content)
        event = RecordReviewed(
            reviewed_by=by,
            reviewed_at=at,
            signature_id=signature_id,
            exceptions=len(self.exceptions),
            corrections=sum(len(p.corrections) for p in self.performed.values()),
            late_entries=sum(1 for p in self.performed.values() if p.performed.late),
        )
        self._record(event)
        return event
