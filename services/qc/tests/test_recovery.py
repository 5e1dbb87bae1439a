"""Recovery decisions: after a lot failed, QA or the qualified person decides how the
journey goes on, signed; re-manufacture is checked against QC's projection of the
patient's retained material (from batch's batch.opened, step.recorded, lot.produced)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from v2v_events.contracts.batch import (
    BatchOpened,
    LotRejected,
    MaterialSource,
    ProcessStep,
    StepRecorded,
)
from v2v_events.contracts.common import Actor
from v2v_events.contracts.qc import RecoveryDecided
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, as_user, signed

from .support import ANALYST, COI, QA, order_panel, post_all, problem, review_trail

QP = as_user("u-qp", "qualified-person")
OPERATOR = Actor(user_id="u-operator", role="cell-therapy-specialist")
AT = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)


async def recover(
    c: httpx.AsyncClient,
    decision: str,
    headers: dict[str, str] = QA,
    lot_id: str = "lot-1",
    **extra: str,
) -> httpx.Response:
    body = {"decision": decision, "reason": "retained aliquot available; clinic agrees", **extra}
    return await signed(c, f"/lots/{lot_id}/recovery-decision", body, headers)


async def opened(
    h: ServiceHarness,
    batch_id: str,
    unit: str = "APH-1",
    retained: int | None = None,
    at: datetime = AT,
) -> None:
    """Batch opened ``batch_id`` from apheresis unit ``unit`` (from its retained material
    when ``retained`` is None and the batch is not the first), keeping ``retained``."""
    source = (
        MaterialSource.FRESH_APHERESIS
        if retained is not None
        else MaterialSource.RETAINED_APHERESIS
    )
    msg = BatchOpened(
        coi=COI,
        batch_id=batch_id,
        manufacturing_site="MS-1",
        source=source,
        apheresis_unit_id=unit,
        opened_at=at,
        actor=OPERATOR,
    )
    assert await h.deliver(msg, subject=COI, id=f"opened-{batch_id}") is Outcome.PROCESSED
    if retained is not None:
        step = StepRecorded(
            coi=COI,
            batch_id=batch_id,
            step=ProcessStep.SELECTION,
            started_at=AT,
            ended_at=AT,
            retained_aliquots=retained,
            actor=OPERATOR,
        )
        assert await h.deliver(step, subject=COI, id=f"sel-{batch_id}") is Outcome.PROCESSED


async def released(harness: ServiceHarness, client: httpx.AsyncClient) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id)
    assert (await review_trail(client)).status_code == 201
    r = await signed(
        client, "/lots/lot-1/decision", {"decision": "release", "reason": "reviewed"}, QA
    )
    assert r.status_code == 201, r.text


async def withdrawn(harness: ServiceHarness) -> None:
    rejected = LotRejected(
        coi=COI,
        lot_id="lot-1",
        reason="bag integrity failure found at fill inspection",
        rejected_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        actor=Actor(user_id="u-sup", role="manufacturing-supervisor"),
    )
    assert await harness.deliver(rejected, subject=COI, id="rej-1") is Outcome.PROCESSED


@pytest.mark.requirement("EU-PartIV.14.1", "21CFR11.50(a)")
async def test_a_lot_rejected_by_manufacturing_after_release_gets_a_signed_recovery_decision(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await opened(harness, "batch-of-lot-1", retained=1)
    await released(harness, client)
    problem(await recover(client, "remanufacture"), 409, "lot-not-failed")
    await withdrawn(harness)
    problem(await recover(client, "remanufacture", headers=ANALYST), 403)
    # exceptional release is for an out-of-specification lot only
    problem(await recover(client, "exceptional-release"), 409, "lot-not-out-of-specification")
    # unsigned: 428 with the content (meaning approved); nothing decided
    unsigned = await client.post(
        "/lots/lot-1/recovery-decision",
        json={"decision": "remanufacture", "reason": "x"},
        headers=QA,
    )
    assert (unsigned.status_code, unsigned.json()["meaning"]) == (428, "approved")
    # material that does not exist: named
    body = problem(
        await recover(client, "remanufacture", apheresis_unit_id="APH-NOPE"),
        409,
        "no-retained-material",
    )
    assert (body["apheresis_unit_id"], body["known_material"]) == ("APH-NOPE", ["APH-1"])
    r = await recover(client, "remanufacture")
    assert r.status_code == 201, r.text
    assert (r.json()["decision"], r.json()["actor"]["user_id"]) == ("remanufacture", "u-qa")
    [decided] = await harness.published(RecoveryDecided)
    assert (decided.coi, decided.lot_id, decided.decision) == (COI, "lot-1", "remanufacture")
    # batch re-opened from the one retained aliquot: none left for another re-manufacture
    await opened(harness, "batch-2", at=datetime(2026, 11, 22, 8, 0, tzinfo=UTC))
    body = problem(await recover(client, "remanufacture"), 409, "no-retained-material")
    assert (body["apheresis_unit_id"], body["remaining"]) == ("APH-1", 0)
    # the qualified person may decide too (signed)
    assert (await recover(client, "new-collection", headers=QP)).status_code == 201
    assert [d.decision for d in await harness.published(RecoveryDecided)] == [
        "remanufacture",
        "new-collection",
    ]


async def test_remanufacture_of_unknown_material_and_lot_produced_counts(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    """Without batch.opened QC knows no material; batch's count at lot.produced (an
    MBR-driven batch publishes no step values) is enough once the batch is known."""
    panel_id = await order_panel(harness)  # lot.produced: 1 aliquot left
    await post_all(client, panel_id)
    r = await signed(client, "/lots/lot-1/decision", {"decision": "reject", "reason": "label"}, QA)
    assert r.status_code == 201, r.text
    body = problem(await recover(client, "remanufacture"), 409, "no-retained-material")
    assert body["apheresis_unit_id"] is None
    await opened(harness, "batch-of-lot-1", retained=0)  # kept 0 by its steps' values...
    assert (await recover(client, "remanufacture")).status_code == 201  # ...1 by lot.produced


async def test_an_out_of_specification_lot_gets_a_decision_and_unknown_lots_none(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id, {"viability": 55.0})
    assert (await recover(client, "exceptional-release")).status_code == 201
    problem(await recover(client, "end-journey", lot_id="no-such-lot"), 404, "lot-not-found")
    bad = await client.post(
        "/lots/lot-1/recovery-decision", json={"decision": "pray", "reason": "x"}, headers=QA
    )
    problem(bad, 422)
    bad = await recover(client, "new-collection", apheresis_unit_id="APH-1")
    problem(bad, 422, "material-only-for-remanufacture")
