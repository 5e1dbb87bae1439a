"""Manufacturing's finding that a lot failed (batch.manufacturing.failed), even after QA
released it: QC withdraws its lot (people may decide recovery) and holds it (custody refuses
its thaw and infusion) until QA lifts the hold; the finding itself disposes of nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from v2v_events.contracts.batch import ManufacturingFailed
from v2v_events.contracts.common import Actor
from v2v_events.contracts.holds import HoldItemKind, HoldPlaced
from v2v_events.contracts.qc import LotReleaseRejected
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, signed

from .support import COI, QA, order_panel, post_all, problem, review_trail

SUPERVISOR = Actor(user_id="u-sup", role="manufacturing-supervisor")


def failed(lot_id: str = "lot-1") -> ManufacturingFailed:
    return ManufacturingFailed(
        coi=COI,
        lot_id=lot_id,
        batch_id="B-1",
        reason="bag integrity failure found at fill inspection",
        failed_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        actor=SUPERVISOR,
    )


async def recover(client: httpx.AsyncClient, lot_id: str = "lot-1") -> httpx.Response:
    """QA's recovery decision, signed (a new collection: no retained material to check)."""
    body = {"decision": "new-collection", "reason": "no retained aliquot; TC agrees"}
    return await signed(client, f"/lots/{lot_id}/recovery-decision", body, QA)


async def test_a_lot_failed_after_release_is_held_and_awaits_peoples_decision(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await post_all(client, await order_panel(harness))
    assert (await review_trail(client)).status_code == 201
    release = {"decision": "release", "reason": "reviewed"}
    assert (await signed(client, "/lots/lot-1/decision", release, QA)).status_code == 201
    problem(await recover(client), 409, "lot-not-failed")

    assert await harness.deliver(failed(), subject=COI, id="mf-1") is Outcome.PROCESSED
    assert await harness.deliver(failed(), subject=COI, id="mf-2") is Outcome.PROCESSED
    [held] = await harness.published(HoldPlaced)  # once, however often it arrives
    assert (held.item_kind, held.item_id, held.coi) == (HoldItemKind.LOT, "lot-1", COI)
    assert (held.hold_id, held.placed_by) == ("H-MF-B-1-lot-lot-1", SUPERVISOR)
    assert held.reason.startswith("Manufacturing failed: bag integrity failure")
    assert await harness.published(LotReleaseRejected) == []  # QA disposes, not the finding
    assert (await recover(client)).status_code == 201
    lift = {"reason": "lot disposed of; hold no longer needed"}
    r = await signed(client, f"/holds/{held.hold_id}/release", lift, QA)
    assert r.status_code == 200, r.text


async def test_a_failure_of_a_lot_qc_never_registered_changes_nothing(
    harness: ServiceHarness,
) -> None:
    assert await harness.deliver(failed("lot-unknown"), subject=COI) is Outcome.PROCESSED
    assert await harness.published(HoldPlaced) == []
