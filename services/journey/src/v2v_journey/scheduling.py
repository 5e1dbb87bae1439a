"""Scheduling a collection with its manufacturing slot. When logistics has no slot now, the
journey notifies, asks again every ``slot_retry_every`` and waits for a slot or a
coordinator's decision; each time ``slot_wait_due`` passes it notifies again. It never gives
up by itself."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from v2v_events.contracts.journey import NotificationReason
    from v2v_events.contracts.logistics import (
        CollectionScheduled,
        CollectionUnschedulable,
        ScheduleCollection,
        SchedulingDecided,
        SchedulingDecision,
    )

    from .activities import JourneyActivities
    from .mailbox import Expect
    from .model import Stage

from .mechanics import SYSTEM, JourneyFailed, JourneyMechanics

# workflow.patched id: histories recorded before it replay the old way
WAIT_FOR_SLOT = "collection-waits-for-slot"  # was: no slot now -> the journey failed


class Scheduling(JourneyMechanics):
    async def _ask_for_slot(self) -> None:
        inp = self.inp
        await self._act(
            JourneyActivities.schedule_collection,
            ScheduleCollection(
                coi=inp.coi,
                apheresis_center=inp.apheresis_center,
                manufacturing_site=inp.manufacturing_site,
                earliest_date=max(inp.earliest_collection, workflow.now().date()),
                attempt=self._collection_attempt,
                actor=SYSTEM,
                treatment_center=inp.treatment_center,
            ),
            "book collection + manufacturing slot",
        )

    async def _schedule(self) -> CollectionScheduled:
        """The collection booked with its manufacturing slot. When none can be booked now the
        journey notifies and waits (``_await_slot``); histories from before that failed."""
        n = self._collection_attempt
        await self._ask_for_slot()
        answer = await self._wait_any(
            "collection-scheduled",
            self.inp.policy.command_reply,
            Expect(CollectionScheduled, lambda m: m.attempt == n),
            Expect(CollectionUnschedulable, lambda m: m.attempt == n),
        )
        if isinstance(answer, CollectionScheduled):
            return answer
        reason = answer.reason if answer else "logistics did not answer"
        if not workflow.patched(WAIT_FOR_SLOT):
            raise JourneyFailed(f"no collection could be scheduled: {reason}")
        return await self._await_slot(reason)

    async def _await_slot(self, reason: str) -> CollectionScheduled:
        """Ask logistics again every ``slot_retry_every`` until a slot is booked or a
        coordinator decides (``logistics.scheduling.decided``: keep waiting, or end the
        journey). Each time ``slot_wait_due`` passes without either, notify again: the
        journey never gives up by itself."""
        p, n = self.inp.policy, self._collection_attempt
        scheduled = Expect(CollectionScheduled, lambda m: m.attempt == n)
        refused = Expect(CollectionUnschedulable, lambda m: m.attempt == n)
        decided = Expect(SchedulingDecided, lambda m: m.attempt == n)
        every = duration(p.slot_retry_every)
        self._note(Stage.AWAITING_SLOT, f"no collection could be scheduled: {reason}")
        await self._notify(
            NotificationReason.DEADLINE_MISSED,
            f"collection attempt {n} cannot be scheduled: {reason}. The journey asks again every "
            f"{every} until a slot is booked or a coordinator decides (keep-waiting or "
            f"end-journey: POST /collections/{self.inp.coi}/decision on logistics)",
        )
        since = workflow.now()
        remind_at = since + p.slot_wait_due
        while True:
            self._deadlines["slot-wait"] = remind_at
            got = await self._wait_any(
                "slot-retry", p.slot_retry_every, scheduled, decided, quiet=True
            )
            if got is None:
                while self._take(refused) is not None:  # answers to earlier requests
                    pass
                await self._ask_for_slot()
                got = await self._wait_any(
                    "collection-scheduled", p.command_reply, scheduled, refused, decided, quiet=True
                )
            if isinstance(got, CollectionScheduled):
                self._deadlines.pop("slot-wait", None)
                self._note(
                    Stage.SCHEDULING, f"slot booked after waiting since {since:%Y-%m-%d %H:%M}"
                )
                return got
            if isinstance(got, SchedulingDecided):
                who = f"{got.actor.user_id} ({got.reason})"
                if got.decision == SchedulingDecision.END_JOURNEY:
                    self._deadlines.pop("slot-wait", None)
                    raise JourneyFailed(
                        f"no manufacturing slot: ended by decision of {who}",
                        outcome="ended-by-decision",
                    )
                self._note(Stage.AWAITING_SLOT, f"keep waiting, decided by {who}")
                remind_at = workflow.now() + p.slot_wait_due
            elif workflow.now() >= remind_at:
                await self._notify(
                    NotificationReason.DEADLINE_MISSED,
                    f"collection attempt {n}: still no manufacturing slot after "
                    f"{duration(workflow.now() - since)}; the journey keeps asking and waits for "
                    "a coordinator's decision (keep-waiting or end-journey)",
                    deadline="slot-wait",
                )
                remind_at = workflow.now() + p.slot_wait_due


def duration(span: timedelta) -> str:
    """``6h``, ``15s``, ``3d 2h``: a policy period as people read it."""
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")) if v]
    return " ".join(parts) or "0s"
