"""QC's holds in custody (issue 15): a hold on a unit, or on its lot, refuses the unit's thaw
(409 ``unit-held``, the refusal kept), its transfers (issue from storage, dispatch to the
courier) and its infusion, naming the holds and their deviations, until QA's signed release
arrives (QC's hold.released). Idempotent on redelivery; a release that arrives before its
placement leaves no stale hold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import InfusionRecorded, UnitThawed
from v2v_events.contracts.holds import HoldItemKind, HoldPlaced, HoldReleased
from v2v_runtime.holds import ItemHolds, holds_stream
from v2v_runtime.inbox import Outcome

from .support import SITE, START, Custody, assert_problem

QA = Actor(user_id="u-qa", role="qa-reviewer")


def placed(
    hold_id: str, kind: HoldItemKind, item_id: str, deviation: str | None = "DEV-1"
) -> HoldPlaced:
    return HoldPlaced(
        hold_id=hold_id,
        item_kind=kind,
        item_id=item_id,
        deviation_id=deviation,
        reason="containment of a freezer excursion",
        placed_at=START,
        placed_by=QA,
    )


def released_(placement: HoldPlaced) -> HoldReleased:
    return HoldReleased(
        hold_id=placement.hold_id,
        item_kind=placement.item_kind,
        item_id=placement.item_id,
        deviation_id=placement.deviation_id,
        reason="no impact on product",
        released_at=START + timedelta(hours=1),
        released_by=QA,
    )


async def deliver(custody: Custody, message: HoldPlaced | HoldReleased) -> Outcome:
    return await custody.harness.deliver(message, subject=message.item_id)


def thaw_body(custody: Custody) -> dict[str, str]:
    return {"thaw_started_at": custody.clock.current.isoformat()}


@pytest.mark.requirement("EU-PartIV.11.4", "EU-PartIV.6.7")
async def test_a_held_unit_is_not_thawed_until_qa_releases_the_hold(custody: Custody) -> None:
    coi = await custody.enroll()
    await custody.final_product_at_treatment_center(coi, ["BAG-1"])
    hold = placed("H-DEV-1-unit-BAG-1", HoldItemKind.UNIT, "BAG-1")
    assert await deliver(custody, hold) is Outcome.PROCESSED
    url = f"/patients/{coi}/units/BAG-1/thaw"
    problem = assert_problem(await custody.unsigned(url, thaw_body(custody)), 409, "unit-held")
    assert (problem["unit_id"], problem["hold_ids"], problem["deviation_ids"]) == (
        "BAG-1",
        ["H-DEV-1-unit-BAG-1"],
        ["DEV-1"],
    )
    [refused] = (await custody.get("/units/BAG-1/thaws")).json()
    assert (refused["outcome"], refused["reason_code"]) == ("refused", "unit-held")
    assert await custody.harness.published(UnitThawed) == []
    # QA's signed release (QC's hold.released): the unit thaws
    assert await deliver(custody, released_(hold)) is Outcome.PROCESSED
    r = await custody.thaw(coi, "BAG-1")
    assert r.status_code == 201, r.text


async def test_a_lot_hold_holds_every_unit_of_the_lot_for_transfer_and_infusion(
    custody: Custody,
) -> None:
    coi = await custody.enroll()
    lot_id = await custody.produce_lot(coi, ["BAG-1", "BAG-2"])
    await custody.release(coi, lot_id)
    hold = placed("H-QA-1", HoldItemKind.LOT, lot_id, deviation=None)
    await deliver(custody, hold)
    # issued from storage / dispatched to the courier: refused, nothing recorded
    transfer = {
        "unit_id": "BAG-2",
        "from_party": SITE,
        "to_party": "courier-1",
        "location": SITE,
        "temperature_c": -170.0,
    }
    problem = assert_problem(await custody.post("/transfers", transfer), 409, "unit-held")
    assert (problem["hold_ids"], problem["deviation_ids"]) == (["H-QA-1"], [])
    assert (await custody.get("/units/BAG-2")).json()["custodian"] == SITE
    await deliver(custody, released_(hold))
    assert (await custody.post("/transfers", transfer)).status_code == 201


async def test_a_held_unit_is_not_infused(custody: Custody) -> None:
    coi = await custody.enroll()
    await custody.final_product_at_treatment_center(coi, ["BAG-1"])
    await custody.thawed(coi, ["BAG-1"])
    hold = placed("H-DEV-2-unit-BAG-1", HoldItemKind.UNIT, "BAG-1", deviation="DEV-2")
    await deliver(custody, hold)
    body = {"unit_ids": ["BAG-1"], "infused_at": custody.clock.current.isoformat()}
    problem = assert_problem(
        await custody.post(f"/patients/{coi}/infusions", body), 409, "unit-held"
    )
    assert problem["deviation_ids"] == ["DEV-2"]
    assert await custody.harness.published(InfusionRecorded) == []
    assert (await custody.get("/units/BAG-1")).json()["status"] != "infused"


async def test_holds_are_idempotent_and_a_release_before_its_placement_leaves_no_hold(
    custody: Custody,
) -> None:
    first = placed("H-A", HoldItemKind.UNIT, "BAG-9")
    second = placed("H-B", HoldItemKind.UNIT, "BAG-9")
    async with custody.harness.kit.uow() as uow:
        assert await uow.repository(ItemHolds).find(holds_stream("unit", "BAG-9")) is None
    # the release of H-B arrives first (a replay): H-B's placement later holds nothing
    await deliver(custody, released_(second))
    await deliver(custody, first)
    await deliver(custody, first.model_copy())  # delivered again: nothing new
    await deliver(custody, second)
    async with custody.harness.kit.uow() as uow:
        holds = await uow.repository(ItemHolds).get(holds_stream("unit", "BAG-9"))
    assert [h.hold_id for h in holds.active] == ["H-A"]
    assert holds.version == 2  # H-B lifted, H-A kept: nothing else recorded
    # a material lot's hold is batch's: custody keeps nothing of it
    await deliver(custody, placed("H-M", HoldItemKind.MATERIAL_LOT, "ML-1"))
    async with custody.harness.kit.uow() as uow:
        assert await uow.repository(ItemHolds).find(holds_stream("material-lot", "ML-1")) is None
