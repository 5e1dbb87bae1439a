"""The batch's progress as the journey's status shows it: the step last recorded in the
current batch, and how far through its steps it is (the fixed process steps, or those of
the MBR version it follows). Read from the events in the mailbox, never waited for: a
query only looks."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from v2v_events.contracts.batch import MbrStepRecorded, ProcessStep, StepRecorded

    from .mailbox import Expect, Mailbox

PROCESS = list(ProcessStep)


def batch_progress(mailbox: Mailbox, batch_id: str) -> dict[str, str]:
    """``step`` (the last recorded) and ``steps_done`` ("4/14") of batch ``batch_id``;
    nothing before its first step."""
    mbr = mailbox.latest(Expect(MbrStepRecorded, lambda m: m.batch_id == batch_id))
    if mbr is not None:
        return {"step": mbr.step_name, "steps_done": f"{mbr.position}/{mbr.step_count}"}
    fixed = mailbox.latest(Expect(StepRecorded, lambda m: m.batch_id == batch_id))
    if fixed is not None:
        done = PROCESS.index(fixed.step) + 1
        return {"step": fixed.step.value, "steps_done": f"{done}/{len(PROCESS)}"}
    return {}
