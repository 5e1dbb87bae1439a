"""A released product held before infusion (e.g. conditional release, sterility positive
later): the journey cancels lymphodepletion and the infusion slot and waits for QA. QA lifts
the hold → booked again, delivered, infused; QA rejects the lot → the lot is compensated
(held, never rejected by the journey) and people decide recovery."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from v2v_events.contracts import batch, holds, journey, logistics, qc
from v2v_journey import policies
from v2v_journey.model import JourneyPolicy, JourneyView, Stage, Status
from v2v_journey.workflow import JourneyWorkflow

from .test_workflow import FAST, new_input, run_journey
from .world import QA, Scenario, World, signal_as_bridge

POLICY = FAST.model_copy(update={"decision_due": timedelta(seconds=5)})


@pytest.mark.requirement("EU-PartIV.14.1")
async def test_hold_cancels_bookings_and_qa_lifting_it_books_them_again(
    temporal: WorkflowEnvironment,
) -> None:
    world, _, result = await run_journey(
        temporal,
        Scenario(held_after_release={1: "lift"}),
        new_input(POLICY),
        "product_held_then_released",
    )
    assert isinstance(result, JourneyView), result
    assert (result.status, result.outcome) == (Status.COMPLETED, "completed")
    names = world.names()
    assert names[names.index("order-qc-panel") :] == [
        "order-qc-panel",
        "book-shipment",
        "book-infusion-slot",
        "book-lymphodepletion",
        "cancel-booking",  # held: lymphodepletion and infusion slot cancelled (newest first)
        "cancel-booking",
        "notify-treatment-center",  # and the center told
        "book-infusion-slot",  # QA lifted the hold: booked again
        "book-lymphodepletion",
        "announce-journey-end",
    ]
    assert [c.booking_id for c in world.sent(logistics.CancelBooking)] == ["LD-I1", "I1"]
    [again] = world.sent(logistics.BookLymphodepletion)[1:]
    assert again.infusion_booking_id == "I1-2"
    [told] = world.sent(journey.TreatmentCenterNotified)
    assert "held by the quality unit" in told.detail and told.lot_id == "L1"
    assert not world.sent(holds.PlaceHold) and not world.sent(batch.RejectLot)
    stages = [h.stage for h in result.history]
    assert Stage.PRODUCT_HELD in stages
    assert stages.index(Stage.PRODUCT_HELD) < stages.index(Stage.INFUSION)


async def test_qa_rejecting_a_held_lot_leads_to_peoples_recovery_decision(
    temporal: WorkflowEnvironment,
) -> None:
    async def decide(world: World, handle: WorkflowHandle[JourneyWorkflow, JourneyView]) -> None:
        for _ in range(300):
            view = await handle.query(JourneyWorkflow.status)
            if view.stage == Stage.AWAITING_DECISION:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"not waiting for a decision: {view}")
        await signal_as_bridge(
            handle,
            qc.RecoveryDecided(
                coi=view.coi,
                lot_id="L1",
                decision=qc.RecoveryDecision.REMANUFACTURE,
                reason="retained aliquot available; physician agrees",
                decided_at=datetime.now(UTC),
                actor=QA,
            ),
        )

    world, _, result = await run_journey(
        temporal,
        Scenario(qc_in_spec=[True, True], held_after_release={1: "reject"}, retained_aliquots=1),
        new_input(POLICY),
        "product_held_then_rejected",
        during=decide,
    )
    assert isinstance(result, JourneyView), result
    assert result.outcome == "completed-after-remanufacture"
    first_remanufacture = world.names().index("remanufacture-from-retained-material")
    before = world.commands[:first_remanufacture]
    assert [
        (n, getattr(c, "booking_id", None) or getattr(c, "item_id", None))
        for n, c in before
        if n in ("cancel-booking", "request-hold", "reject-lot")
    ] == [
        ("cancel-booking", "LD-I1"),  # on the hold
        ("cancel-booking", "I1"),
        ("cancel-booking", "S-outbound-1"),  # on QA's rejection: the rest, and a hold
        ("request-hold", "L1"),
    ]
    assert not world.sent(batch.RejectLot)
    # attempt 2 booked its infusion only after its own release
    assert [c.attempt for c in world.sent(logistics.BookInfusionSlot)] == [1, 2]


@pytest.mark.parametrize(("policy_id", "gap"), [("default", 5), ("demo", 3)])
def test_policies_v4_carry_the_lymphodepletion_gap_and_older_versions_load(
    policy_id: str, gap: int
) -> None:
    current = policies.load(policy_id)
    assert (current.version, current.lymphodepletion_gap_days) == (4, gap)
    older = JourneyPolicy.model_validate(
        json.loads((policies.ROOT / f"{policy_id}.v3.json").read_text())
    )
    assert older.lymphodepletion_gap_days == JourneyPolicy().lymphodepletion_gap_days == 3
