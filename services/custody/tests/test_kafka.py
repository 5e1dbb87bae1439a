"""Inbox handlers: RejectUnit (command), LotProduced and LotRejected (batch's events), LotReleased
and LotReleaseRejected (QC's events), JourneyEnded."""

from __future__ import annotations

import pytest

from v2v_custody.bootstrap import build
from v2v_custody.settings import CustodySettings
from v2v_events.catalog import commands_topic, events_topic
from v2v_events.contracts.batch import LotRejected
from v2v_events.contracts.custody import RejectUnit, UnitRejected, UnitsRegistered
from v2v_events.contracts.exceptional_release import LotExceptionallyReleased
from v2v_events.contracts.holds import HoldPlaced, HoldReleased
from v2v_events.contracts.journey import JourneyEnded
from v2v_events.contracts.qc import LotReleased, LotReleaseRejected
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness

from .support import ACTOR, SITE, START, TREATMENT, Custody, lot


def test_spec_subscribes_to_batch_qc_and_journey_events_and_its_commands(
    settings: CustodySettings,
) -> None:
    spec = build(settings)
    assert spec.name == "custody"
    assert list(spec.subscribed_topics) == [
        events_topic("batch"),
        events_topic("qc"),
        events_topic("journey"),
    ]
    assert set(spec.handlers) == {
        RejectUnit,
        type(lot("CHA1B2C26000001", "L", ["b"])),
        LotRejected,
        LotReleased,
        LotReleaseRejected,
        LotExceptionallyReleased,
        JourneyEnded,
        HoldPlaced,
        HoldReleased,
    }
    assert ServiceHarness(spec).kit.topics == [
        commands_topic("custody"),
        events_topic("batch"),
        events_topic("qc"),
        events_topic("journey"),
    ]


async def test_reject_unit_command(custody: Custody) -> None:
    coi = await custody.enroll()
    unit = await custody.collect(coi)
    cmd = RejectUnit(coi=coi, unit_id=unit["unit_id"], reason="past stability window", actor=ACTOR)
    assert await custody.harness.deliver(cmd, subject=coi, id="cmd-1") is Outcome.PROCESSED
    [rejected] = await custody.harness.published(UnitRejected)
    assert (rejected.coi, rejected.unit_id, rejected.reason) == (
        coi,
        unit["unit_id"],
        "past stability window",
    )
    assert rejected.actor == ACTOR
    state = (await custody.get(f"/units/{unit['unit_id']}")).json()
    assert (state["status"], state["rejected_reason"]) == ("rejected", "past stability window")
    # Redelivery (same message id) is skipped; the same command again changes nothing.
    assert await custody.harness.deliver(cmd, subject=coi, id="cmd-1") is Outcome.DUPLICATE
    assert await custody.harness.deliver(cmd, subject=coi, id="cmd-2") is Outcome.PROCESSED
    assert len(await custody.harness.published(UnitRejected)) == 1
    # The command's causation is recorded with the public event.
    [(_, env)] = [(t, e) for t, e in await custody.harness.outbox() if e.type.endswith("rejected")]
    assert env.causationid == "cmd-1"


@pytest.mark.requirement("EU-Annex11.5", "EU-PartIV.9")
async def test_reject_unit_for_an_unknown_unit_or_another_coi_is_dead_lettered(
    custody: Custody,
) -> None:
    coi = await custody.enroll()
    other = await custody.enroll()
    unit = await custody.collect(coi)
    wrong = RejectUnit(coi=other, unit_id=unit["unit_id"], reason="x", actor=ACTOR)
    assert await custody.harness.deliver(wrong, subject=other) is Outcome.DEAD_LETTERED
    unknown = RejectUnit(coi=coi, unit_id="no-such-unit", reason="x", actor=ACTOR)
    assert await custody.harness.deliver(unknown, subject=coi) is Outcome.DEAD_LETTERED
    assert await custody.harness.published(UnitRejected) == []
    assert (await custody.get(f"/units/{unit['unit_id']}")).json()["status"] == "registered"


@pytest.mark.requirement("EU-PartIV.6.7")
async def test_lot_produced_registers_final_product_units(custody: Custody) -> None:
    coi = await custody.enroll()
    lot_id = await custody.produce_lot(coi, ["BAG-1", "BAG-2", "BAG-1"])
    [registered] = await custody.harness.published(UnitsRegistered)
    assert (registered.coi, registered.lot_id, registered.location) == (coi, lot_id, SITE)
    assert registered.unit_ids == ["BAG-1", "BAG-2"]
    units = (await custody.get(f"/patients/{coi}/units")).json()
    assert [u["unit_id"] for u in units] == ["BAG-1", "BAG-2"]
    for u in units:
        assert (u["kind"], u["lot_id"], u["status"]) == ("final-product", lot_id, "registered")
        assert (u["custodian"], u["expected_destination"]) == (SITE, TREATMENT)
        assert u["expected_location_kind"] == "treatment-center"
        assert u["din"] is None
    # The same lot again (a new message id): nothing new, nothing published.
    assert (
        await custody.harness.deliver(lot(coi, lot_id, ["BAG-1", "BAG-2"]), subject=coi)
        is Outcome.PROCESSED
    )
    assert len(await custody.harness.published(UnitsRegistered)) == 1


async def test_lot_for_an_unknown_patient_or_a_taken_bag_id_is_dead_lettered(
    custody: Custody,
) -> None:
    unknown = lot("CHA1B2C26000999", "LOT-X", ["BAG-X"])
    assert await custody.harness.deliver(unknown, subject="CHA1B2C26000999") is (
        Outcome.DEAD_LETTERED
    )
    coi = await custody.enroll()
    other = await custody.enroll()
    await custody.produce_lot(coi, ["BAG-1"])
    taken = lot(other, "LOT-Y", ["BAG-1"])
    assert await custody.harness.deliver(taken, subject=other) is Outcome.DEAD_LETTERED
    assert (await custody.get(f"/patients/{other}/units")).json() == []
    assert len(custody.harness.dead_letters.sent) == 2


@pytest.mark.requirement("EU-PartIV.14.2")
async def test_lot_rejected_rejects_its_bags(custody: Custody) -> None:
    coi = await custody.enroll()
    lot_id = await custody.produce_lot(coi, ["BAG-1", "BAG-2"])
    other_lot = await custody.produce_lot(coi, ["BAG-3"])
    event = LotRejected(
        coi=coi,
        lot_id=lot_id,
        reason="out of specification",
        deviation_id="DEV-1",
        rejected_at=START,
        actor=ACTOR,
    )
    assert await custody.harness.deliver(event, subject=coi) is Outcome.PROCESSED
    rejected = await custody.harness.published(UnitRejected)
    assert sorted(r.unit_id for r in rejected) == ["BAG-1", "BAG-2"]
    assert all(r.reason == f"lot {lot_id} rejected: out of specification" for r in rejected)
    units = {
        u["unit_id"]: u["status"] for u in (await custody.get(f"/patients/{coi}/units")).json()
    }
    assert units == {"BAG-1": "rejected", "BAG-2": "rejected", "BAG-3": "registered"}
    assert other_lot != lot_id
    # the same event again (new message id): nothing more happens
    assert await custody.harness.deliver(event, subject=coi) is Outcome.PROCESSED
    assert len(await custody.harness.published(UnitRejected)) == 2
