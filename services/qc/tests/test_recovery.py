"""Recovery decisions: after a lot was rejected, QA decides how the journey goes on."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from v2v_events.contracts.batch import LotRejected
from v2v_events.contracts.common import Actor
from v2v_events.contracts.qc import RecoveryDecided
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, signed

from .support import ANALYST, COI, QA, order_panel, post_all, problem, review_trail


async def recover(
    c: httpx.AsyncClient, decision: str, headers: dict[str, str] = QA, lot_id: str = "lot-1"
) -> httpx.Response:
    return await c.post(
        f"/lots/{lot_id}/recovery-decision",
        json={"decision": decision, "reason": "retained aliquot available; clinic agrees"},
        headers=headers,
    )


async def released(harness: ServiceHarness, client: httpx.AsyncClient) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id)
    assert (await review_trail(client)).status_code == 201
    r = await signed(
        client, "/lots/lot-1/decision", {"decision": "release", "reason": "reviewed"}, QA
    )
    assert r.status_code == 201, r.text


@pytest.mark.requirement("EU-PartIV.14.1")
async def test_a_lot_rejected_by_manufacturing_after_release_gets_a_recovery_decision(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await released(harness, client)
    problem(await recover(client, "remanufacture"), 409, "lot-not-failed")
    rejected = LotRejected(
        coi=COI,
        lot_id="lot-1",
        reason="bag integrity failure found at fill inspection",
        rejected_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        actor=Actor(user_id="u-sup", role="manufacturing-supervisor"),
    )
    assert await harness.deliver(rejected, subject=COI, id="rej-1") is Outcome.PROCESSED
    problem(await recover(client, "remanufacture", headers=ANALYST), 403)
    problem(await recover(client, "exceptional-release"), 409, "exceptional-release-unavailable")
    r = await recover(client, "remanufacture")
    assert r.status_code == 201, r.text
    assert (r.json()["decision"], r.json()["actor"]["user_id"]) == ("remanufacture", "u-qa")
    [decided] = await harness.published(RecoveryDecided)
    assert (decided.coi, decided.lot_id, decided.decision) == (COI, "lot-1", "remanufacture")
    # a later decision (e.g. re-manufacture refused for want of material) follows the first
    assert (await recover(client, "new-collection")).status_code == 201
    assert [d.decision for d in await harness.published(RecoveryDecided)] == [
        "remanufacture",
        "new-collection",
    ]


async def test_a_lot_qa_rejected_gets_a_recovery_decision_and_unknown_lots_none(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id)
    r = await signed(client, "/lots/lot-1/decision", {"decision": "reject", "reason": "label"}, QA)
    assert r.status_code == 201, r.text
    assert (await recover(client, "end-journey")).status_code == 201
    problem(await recover(client, "end-journey", lot_id="no-such-lot"), 404, "lot-not-found")
    bad = await client.post(
        "/lots/lot-1/recovery-decision", json={"decision": "pray", "reason": "x"}, headers=QA
    )
    problem(bad, 422)
