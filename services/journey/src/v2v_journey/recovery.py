"""Recovering a lot that did not reach the patient: re-manufacture from retained apheresis
material, and people's recovery decisions (``qc.recovery.decided``), which the journey waits
for and follows but never makes."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from v2v_events.contracts.batch import (
        BatchOpened,
        LotProduced,
        Remanufacture,
        RemanufactureRefused,
    )
    from v2v_events.contracts.journey import NotificationReason
    from v2v_events.contracts.qc import RecoveryDecided, RecoveryDecision

    from .activities import JourneyActivities
    from .mailbox import Expect
    from .model import Stage

from .mechanics import SYSTEM, JourneyFailed, JourneyMechanics
from .release import Failure


class Recovery(JourneyMechanics):
    async def _exceptionally(self, lot: LotProduced) -> Failure | None:
        """The exceptional release's path (exceptional.ExceptionalDelivery, before this class
        in the workflow's MRO): None once infused."""
        raise NotImplementedError

    async def _remanufacture(self, lot: LotProduced) -> BatchOpened | None:
        """A batch re-opened from ``lot``'s retained material, or None if batch refused."""
        self._manufacturing_attempt += 1
        n = self._manufacturing_attempt
        await self._act(
            JourneyActivities.remanufacture,
            Remanufacture(coi=self.inp.coi, previous_lot_id=lot.lot_id, attempt=n, actor=SYSTEM),
            f"re-manufacture from retained material (attempt {n})",
        )
        answer = await self._wait_any(
            "batch-reopened",
            self.inp.policy.command_reply,
            Expect(BatchOpened, lambda m: m.attempt == n),
            Expect(RemanufactureRefused, lambda m: m.attempt == n),
        )
        if isinstance(answer, BatchOpened):
            await self._notify(NotificationReason.REMANUFACTURING, f"batch {answer.batch_id}")
            return answer
        return None

    async def _await_decision(self, lot: LotProduced) -> RecoveryDecided:
        """Wait for people's recovery decision on ``lot``; never decide. Each time
        ``decision_due`` passes, notify again (escalation is the people's, not ours)."""
        self._note(Stage.AWAITING_DECISION, f"lot {lot.lot_id}: waiting for a recovery decision")
        while True:
            decided = await self._wait_any(
                "recovery-decision",
                self.inp.policy.decision_due,
                Expect(RecoveryDecided, lambda m: m.lot_id == lot.lot_id),
            )
            if isinstance(decided, RecoveryDecided):
                self._note(
                    Stage.AWAITING_DECISION,
                    f"{decided.decision.value} decided by {decided.actor.user_id}",
                )
                return decided
            await self._notify(
                NotificationReason.DEADLINE_MISSED,
                f"recovery decision on lot {lot.lot_id} overdue: the journey is waiting",
                lot.lot_id,
                deadline="recovery-decision",
            )

    async def _follow(
        self, decision: RecoveryDecided, lot: LotProduced | None
    ) -> BatchOpened | LotProduced | None:
        """Act on people's decision: a re-opened batch, the lot itself once infused after
        its exceptional release, or None for a new collection. What cannot be done is
        reported and a new decision awaited."""
        assert lot is not None
        p = self.inp.policy
        while True:
            who = f"{decision.actor.user_id} ({decision.reason})"
            if decision.decision == RecoveryDecision.END_JOURNEY:
                raise JourneyFailed(f"ended by decision of {who}", outcome="ended-by-decision")
            if decision.decision == RecoveryDecision.NEW_COLLECTION:
                return None
            if decision.decision == RecoveryDecision.EXCEPTIONAL_RELEASE:
                failed = await self._exceptionally(lot)
                if failed is None:
                    return lot
                refused = failed.detail
            elif decision.decision != RecoveryDecision.REMANUFACTURE:
                refused = f"{decision.decision.value} is not something the journey can do"
            elif self._manufacturing_attempt >= p.max_manufacturing_attempts:
                refused = f"all {p.max_manufacturing_attempts} manufacturing attempts are used"
            else:
                reopened = await self._remanufacture(lot)
                if reopened is not None:
                    return reopened
                refused = "no retained apheresis material is left"
            await self._notify(
                NotificationReason.QC_FAILED,
                f"{decision.decision.value} decided by {who} cannot be done: {refused}; "
                "a new decision is needed",
                lot.lot_id,
            )
            decision = await self._await_decision(lot)
