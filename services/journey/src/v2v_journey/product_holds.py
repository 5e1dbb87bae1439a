"""A released product held before infusion (``qc.hold.placed`` on the lot or one of its
bags, e.g. a conditional release whose pending sterility turned positive): the journey
cancels lymphodepletion and the infusion slot and waits for QA. Every hold on the product
released → book them again and go on; QA rejects the lot, or manufacturing finds it failed →
the lot does not come, people decide recovery. While it waits it notifies again each
``decision_due``; it never decides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from v2v_events.contracts.batch import LotProduced
    from v2v_events.contracts.holds import HoldItemKind, HoldPlaced, HoldReleased
    from v2v_events.contracts.journey import NotificationReason
    from v2v_events.contracts.qc import LotReleaseRejected
    from v2v_events.registry import Contract

    from .mailbox import Expect
    from .model import Stage

from .mechanics import JourneyMechanics


def on_product(lot: LotProduced) -> Callable[[HoldPlaced | HoldReleased], bool]:
    """Whether a hold is on ``lot`` or one of its bags (a lot hold holds every bag)."""
    bags = set(lot.bag_ids)

    def held(m: HoldPlaced | HoldReleased) -> bool:
        if m.item_kind == HoldItemKind.LOT:
            return m.item_id == lot.lot_id
        return m.item_kind == HoldItemKind.UNIT and m.item_id in bags

    return held


class ProductHolds(JourneyMechanics):
    def __init__(self) -> None:
        super().__init__()
        self._lifted: set[str] = set()  # hold ids QA released

    def _holds_placed(self, lot: LotProduced) -> Expect[HoldPlaced]:
        return Expect(HoldPlaced, on_product(lot))

    def _still_held(self, first: HoldPlaced, lot: LotProduced) -> set[str]:
        """The product's holds not released, from ``first`` and every hold event received
        so far (a hold placed and lifted before QA released the lot is not one)."""
        active = {first.hold_id}
        while (placed := self._take(self._holds_placed(lot))) is not None:
            assert isinstance(placed, HoldPlaced)
            active.add(placed.hold_id)
        while (lifted := self._take(Expect(HoldReleased, on_product(lot)))) is not None:
            assert isinstance(lifted, HoldReleased)
            self._lifted.add(lifted.hold_id)
        return active - self._lifted

    async def _await_qa(
        self, lot: LotProduced, active: set[str], first: HoldPlaced, *withdrawn: Expect[Any]
    ) -> Contract | None:
        """Wait while the product is held: None once every hold is released, else what
        ends the lot (QA's rejection, manufacturing's failure)."""
        p = self.inp.policy
        self._note(
            Stage.PRODUCT_HELD,
            f"lot {lot.lot_id} held ({first.reason}): lymphodepletion and infusion slot "
            "cancelled; waiting for QA",
        )
        await self._notify(
            NotificationReason.QC_FAILED,
            f"lot {lot.lot_id} is held by the quality unit before infusion: {first.reason}. "
            "Lymphodepletion and the infusion slot are cancelled; they are booked again if QA "
            "releases the hold",
            lot.lot_id,
        )
        while active:
            got = await self._wait_any(
                "hold-release",
                p.decision_due,
                Expect(HoldReleased, on_product(lot)),
                self._holds_placed(lot),
                Expect(LotReleaseRejected, lambda m: m.lot_id == lot.lot_id),
                *withdrawn,
                quiet=True,
            )
            if isinstance(got, HoldReleased):
                self._lifted.add(got.hold_id)
                active.discard(got.hold_id)
            elif isinstance(got, HoldPlaced):
                active.add(got.hold_id)
            elif got is not None:
                return got  # type: ignore[no-any-return]
            else:
                await self._notify(
                    NotificationReason.QC_FAILED,
                    f"lot {lot.lot_id} is still held ({', '.join(sorted(active))}): the journey "
                    "waits for QA to release the hold or reject the lot",
                    lot.lot_id,
                )
        self._note(Stage.OUTBOUND_SHIPMENT, f"every hold on lot {lot.lot_id} released by QA")
        return None
