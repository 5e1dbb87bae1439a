"""How the journey does things, whatever the stage: act through activities, notify the
treatment center, wait for events with a deadline, note stages (search attributes, history,
metrics), end. The stage modules and ``workflow.JourneyWorkflow`` build on this."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from v2v_events.bounds import clip
    from v2v_events.contracts.journey import (
        JourneyEnded,
        NotificationReason,
        TreatmentCenterNotified,
    )
    from v2v_events.registry import Contract

    from .activities import JourneyActivities
    from .mailbox import Expect, Mailbox
    from .model import (
        JOURNEY_ACTOR,
        SA_STAGE,
        SA_STATUS,
        HistoryEntry,
        JourneyInput,
        JourneyView,
        Stage,
        Status,
    )
    from .progress import batch_progress

C = TypeVar("C", bound=Contract)
SYSTEM = JOURNEY_ACTOR
ACTIVITY_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


class JourneyFailed(Exception):
    """No way forward within the policy (or people ended it): compensations are done, the
    journey fails."""

    def __init__(self, detail: str, outcome: str = "failed") -> None:
        super().__init__(detail)
        self.outcome = outcome


class JourneyMechanics:
    def __init__(self) -> None:
        self._mailbox = Mailbox()
        self._stage = Stage.ENROLLED
        self._status = Status.RUNNING
        self._outcome: str | None = None
        self._history: list[HistoryEntry] = []
        self._deadlines: dict[str, datetime] = {}
        self._current: dict[str, str] = {}
        self._collection_attempt = 0
        self._manufacturing_attempt = 0
        self._failure: str = ""
        self._deviation: str | None = None
        self._inp: JourneyInput | None = None
        self._stage_since: datetime | None = None

    @property
    def inp(self) -> JourneyInput:
        assert self._inp is not None
        return self._inp

    def _view(self) -> JourneyView:
        return JourneyView(
            coi=self.inp.coi,
            stage=self._stage,
            status=self._status,
            outcome=self._outcome,
            collection_attempt=self._collection_attempt,
            manufacturing_attempt=self._manufacturing_attempt,
            deadlines=dict(self._deadlines),
            current=self._current_with_progress(),
            history=list(self._history),
        )

    def _current_with_progress(self) -> dict[str, str]:
        """What the journey is at, with the current batch's last step and progress."""
        current = dict(self._current)
        if "batch" in current:
            current |= batch_progress(self._mailbox, current["batch"])
        return current

    # --- acting -----------------------------------------------------------------------------

    async def _act(self, fn: Callable[..., Awaitable[str]], arg: Contract, summary: str) -> None:
        await workflow.execute_activity_method(
            fn,
            arg,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
            summary=summary,
        )

    async def _notify(
        self,
        reason: NotificationReason,
        detail: str,
        lot_id: str | None = None,
        *,
        deadline: str | None = None,
    ) -> None:
        """``deadline``: the one that passed (as ``_wait_any`` names it), when one did: QC
        opens a deviation for a missed GMP deadline."""
        await self._act(
            JourneyActivities.notify_treatment_center,
            TreatmentCenterNotified(
                coi=self.inp.coi,
                treatment_center=self.inp.treatment_center,
                reason=reason,
                # composed from other messages' text (QC failures, a QA reason): keep it
                # within the contract's bound
                detail=clip(detail),
                lot_id=lot_id,
                deviation_id=self._deviation,
                notified_at=workflow.now(),
                deadline=deadline,
                manufacturing_site=self.inp.manufacturing_site,
            ),
            f"notify treatment center: {reason.value}",
        )

    async def _end(self, status: Status, outcome: str, note: str) -> None:
        self._status, self._outcome = status, outcome
        self._deadlines.clear()
        self._note(Stage.DONE, f"{outcome}: {note}")
        workflow.upsert_search_attributes([SA_STATUS.value_set(status.value)])
        _count_end(status, outcome)
        await self._act(
            JourneyActivities.announce_end,
            JourneyEnded(
                coi=self.inp.coi,
                status=status.value,
                outcome=outcome,
                manufacturing_attempts=self._manufacturing_attempt,
                collection_attempts=self._collection_attempt,
                ended_at=workflow.now(),
            ),
            f"journey {outcome}",
        )

    # --- waiting for events -----------------------------------------------------------------

    def _peek(self, expected: Expect[C]) -> C | None:
        return self._mailbox.peek(expected)

    def _take(self, *expected: Expect[Any]) -> Contract | None:
        return self._mailbox.take(*expected)

    async def _wait_any(
        self, name: str, within: timedelta, *expected: Expect[Any], quiet: bool = False
    ) -> Any:
        """The first expected event not yet used, or None when ``within`` has passed (noted
        in the history unless ``quiet``: a wait that is a retry period, not a deadline)."""
        found = self._take(*expected)
        if found is not None:
            return found
        self._deadlines[name] = workflow.now() + max(within, timedelta(0))
        box: list[Contract] = []

        def ready() -> bool:
            hit = self._take(*expected)
            if hit is not None:
                box.append(hit)
            return bool(box)

        try:
            if within > timedelta(0):
                await workflow.wait_condition(ready, timeout=within, timeout_summary=name)
        except TimeoutError:
            pass
        finally:
            self._deadlines.pop(name, None)
        if box:
            return box[0]
        if not quiet:
            self._note(self._stage, f"deadline passed: {name}")
        return None

    # --- what operators see -----------------------------------------------------------------

    def _note(self, stage: Stage, note: str) -> None:
        if stage != self._stage or not self._history:
            workflow.upsert_search_attributes([SA_STAGE.value_set(stage.value)])
            now = workflow.now()
            if self._stage_since is not None:
                _record_stage_time(self._stage, now - self._stage_since)
            self._stage_since = now
        self._stage = stage
        self._history.append(HistoryEntry(at=workflow.now(), stage=stage, note=note))


# Metrics are not recorded on replay: safe in workflow code.


def _record_stage_time(stage: Stage, spent: timedelta) -> None:
    workflow.metric_meter().create_histogram_timedelta(
        "v2v_journey_stage_duration", "time a journey spent in a stage", "duration"
    ).record(spent, {"stage": stage.value})


def _count_end(status: Status, outcome: str) -> None:
    workflow.metric_meter().create_counter(
        "v2v_journeys_ended", "journeys ended, by status and outcome", "{journey}"
    ).add(1, {"status": status.value, "outcome": outcome})
