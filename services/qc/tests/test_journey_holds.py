"""The journey's compensation asks QC for a hold (qc.hold.place) instead of rejecting: QC
places it with the requester and its reason; QA alone lifts it (signed) or disposes of the
item. A deviation QC knows makes it that deviation's hold on the item."""

from __future__ import annotations

import httpx

from v2v_events.contracts.common import Actor
from v2v_events.contracts.holds import HoldItemKind, HoldPlaced, HoldReleased, PlaceHold
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, signed

from .lifecycle import opened_on_lot
from .support import COI, QA, order_panel, problem, review_trail

JOURNEY = Actor(user_id="system:system-journey", role="system-journey")
REQUESTER = f"journey-{COI}"


def request(kind: HoldItemKind, item_id: str, deviation_id: str | None = None) -> PlaceHold:
    return PlaceHold(
        coi=COI,
        item_kind=kind,
        item_id=item_id,
        reason="journey compensation: lot L1 out of specification",
        deviation_id=deviation_id,
        requested_by=REQUESTER,
        actor=JOURNEY,
    )


async def test_the_journeys_hold_on_a_lot_blocks_release_until_qa_lifts_it(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await order_panel(harness, "lot-1")
    cmd = request(HoldItemKind.LOT, "lot-1", deviation_id="DEV-unknown-to-qc")
    assert await harness.deliver(cmd, subject=COI, id="hold-1") is Outcome.PROCESSED
    assert await harness.deliver(cmd, subject=COI, id="hold-1-again") is Outcome.PROCESSED
    [placed] = await harness.published(HoldPlaced)  # asked twice: one hold
    assert placed.hold_id == f"H-{REQUESTER}-lot-lot-1"
    assert (placed.coi, placed.placed_by, placed.deviation_id) == (COI, JOURNEY, None)
    assert placed.reason == cmd.reason
    hold = (await client.get(f"/holds/{placed.hold_id}")).json()
    assert (hold["state"], hold["placed_by"]["role"]) == ("placed", "system-journey")

    # a held lot is not released; only QA's signature lifts the hold
    assert (await review_trail(client)).status_code == 201
    decision = {"decision": "release", "reason": "reviewed"}
    problem(await client.post("/lots/lot-1/decision", json=decision, headers=QA), 409, "lot-held")
    lift = {"reason": "investigated: the lot is fit for release"}
    r = await signed(client, f"/holds/{placed.hold_id}/release", lift, QA)
    assert r.status_code == 200, r.text
    [released] = await harness.published(HoldReleased)
    assert (released.hold_id, released.coi) == (placed.hold_id, COI)
    # asked again after QA lifted it: QA has decided, nothing placed again
    await harness.deliver(cmd, subject=COI, id="hold-1-late")
    assert len(await harness.published(HoldPlaced)) == 1


async def test_a_unit_hold_carries_the_requesters_coi_and_a_known_deviation(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    url = await opened_on_lot(harness, client)
    deviation_id = url.rsplit("/", 1)[1]
    cmd = request(HoldItemKind.UNIT, "U-apheresis-1", deviation_id=deviation_id)
    assert await harness.deliver(cmd, subject=COI) is Outcome.PROCESSED
    [placed] = await harness.published(HoldPlaced)
    # the deviation's hold on the unit, as its containment would place it
    assert placed.hold_id == f"H-{deviation_id}-unit-U-apheresis-1"
    assert (placed.coi, placed.deviation_id) == (COI, deviation_id)
    keys = {env.subject for _, env in await harness.outbox() if env.type.endswith("hold.placed")}
    assert keys == {COI}  # keyed by the CoI: the journey's bridge routes it to the journey
