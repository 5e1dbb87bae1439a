"""A lot whose batch was executed from its master batch record is released only once QA has
reviewed that record by exception in the batch service: QC learns both from batch's events
(batch.mbr-step.recorded, batch.record.reviewed) and shows them in the release package. A
batch of the fixed process steps has no executed record, and its lot does not wait."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from v2v_events.contracts.batch import BatchRecordReviewed, MbrRef, MbrStepRecorded
from v2v_events.contracts.common import Actor
from v2v_events.contracts.qc import LotReleased
from v2v_qc.domain.batch_record import BatchRecord, RecordReviewNoted
from v2v_qc.domain.common import Who
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, signed

from .support import (
    COI,
    QA,
    blockers,
    order_panel,
    post_all,
    problem,
    review_trail,
)
from .support import (
    release_package as package,
)

BATCH = "batch-of-lot-1"  # support.produced's batch of lot-1
MBR = MbrRef(product_code="S2CART", site="MS-1", version=3)
AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SPECIALIST = Actor(user_id="u-specialist", role="cell-therapy-specialist")
REVIEWER = Actor(user_id="u-qa-batch", role="qa-reviewer")


def step(position: int = 1) -> MbrStepRecorded:
    return MbrStepRecorded(
        coi=COI,
        batch_id=BATCH,
        mbr=MBR,
        step_id=f"step-{position}",
        step_name=f"Step {position}",
        operation_name="Operation",
        position=position,
        step_count=2,
        room="GRADE-B-SUITE-2",
        started_at=AT,
        ended_at=AT,
        actor=SPECIALIST,
    )


def reviewed() -> BatchRecordReviewed:
    return BatchRecordReviewed(
        coi=COI,
        batch_id=BATCH,
        mbr=MBR,
        exceptions=1,
        corrections=2,
        late_entries=0,
        reviewed_at=AT,
        actor=REVIEWER,
    )


async def release(c: httpx.AsyncClient) -> httpx.Response:
    body = {"decision": "release", "reason": "batch record, results and trail reviewed"}
    return await signed(c, "/lots/lot-1/decision", body, QA)


# --- the domain -------------------------------------------------------------------------


def review_noted() -> RecordReviewNoted:
    return RecordReviewNoted(
        coi=COI,
        batch_id=BATCH,
        product_code="S2CART",
        site="MS-1",
        version=3,
        exceptions=0,
        corrections=0,
        late_entries=0,
        reviewed_at=AT,
        reviewed_by=Who(user_id="u-qa", role="qa-reviewer"),
    )


def test_an_mbr_batch_blocks_until_its_review_and_each_fact_is_noted_once() -> None:
    record = BatchRecord.of(BATCH)
    assert record.review_blocker("lot-1") is None  # fixed process steps: nothing to review
    assert record.note_mbr(COI, BATCH, "S2CART", "MS-1", 3) is True
    assert record.note_mbr(COI, BATCH, "S2CART", "MS-1", 3) is False
    blocked = record.review_blocker("lot-1")
    assert blocked is not None and blocked.code == "batch-record-review-missing"
    assert blocked.extra == {"lot_id": "lot-1", "batch_id": BATCH}
    review = review_noted()
    assert record.note_review(review) is True
    assert record.note_review(review) is False
    assert record.review_blocker("lot-1") is None
    assert [type(e).__name__ for e in record.pending] == ["MbrExecutionNoted", "RecordReviewNoted"]


def test_a_review_alone_says_the_batch_follows_its_mbr() -> None:
    record = BatchRecord.of(BATCH)
    review = review_noted()
    assert record.note_review(review)
    assert record.executed_from_mbr and record.review_blocker("lot-1") is None


# --- the service ------------------------------------------------------------------------


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_an_mbr_lot_is_released_only_after_its_batch_record_review(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    for position, message_id in ((1, "s-1"), (1, "s-1"), (2, "s-2")):  # one redelivered
        outcome = await harness.deliver(step(position), subject=COI, id=message_id)
        assert outcome in (Outcome.PROCESSED, Outcome.DUPLICATE)
    panel_id = await order_panel(harness)
    await post_all(client, panel_id)
    # one refusal names every blocker, in the package's order
    early = problem(await release(client), 409, "batch-record-review-missing")
    assert early["blockers"] == ["batch-record-review-missing", "audit-trail-review-missing"]
    assert (await review_trail(client)).status_code == 201

    shown = await package(client)
    assert blockers(shown) == ["batch-record-review-missing"]
    assert shown["batch_record"] == {
        "batch_id": BATCH,
        "executed_from_mbr": True,
        "mbr": "S2CART v3 at MS-1",
        "reviewed": False,
        "reviewed_at": None,
        "reviewed_by": None,
        "exceptions": None,
        "corrections": None,
        "late_entries": None,
    }
    refused = problem(await release(client), 409, "batch-record-review-missing")
    assert (refused["lot_id"], refused["batch_id"]) == ("lot-1", BATCH)
    assert refused["blockers"] == ["batch-record-review-missing"]
    assert f"/batches/{BATCH}/review" in refused["detail"]
    assert await harness.published(LotReleased) == []  # nothing applied

    for message_id in ("r-1", "r-1", "r-2"):  # redelivered, then published again
        outcome = await harness.deliver(reviewed(), subject=COI, id=message_id)
        assert outcome in (Outcome.PROCESSED, Outcome.DUPLICATE)
    shown = await package(client)
    record = shown["batch_record"]
    assert isinstance(record, dict)
    assert (record["reviewed"], record["reviewed_by"]) == (
        True,
        {"user_id": "u-qa-batch", "role": "qa-reviewer"},
    )
    assert (record["exceptions"], record["corrections"], record["late_entries"]) == (1, 2, 0)
    assert blockers(shown) == []  # the review came before: the trail review stays current
    r = await release(client)
    assert r.status_code == 201, r.text
    [released] = await harness.published(LotReleased)
    assert released.lot_id == "lot-1"


async def test_a_lot_of_the_fixed_process_steps_has_no_record_to_review(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id)
    assert (await review_trail(client)).status_code == 201
    shown = await package(client)
    assert blockers(shown) == []
    record = shown["batch_record"]
    assert isinstance(record, dict)
    assert (record["batch_id"], record["executed_from_mbr"], record["mbr"]) == (
        BATCH,
        False,
        None,
    )
    assert (await release(client)).status_code == 201
