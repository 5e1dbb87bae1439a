"""QA's audit-trail review before release: the parts of batch, custody and QC as QA saw them
(positions and hashes), signed; the release refused without a review and again when a part
has moved since (batch's and custody's heads arrive over Kafka: audit-trail.advanced)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from v2v_events.contracts.trail import CustodyTrailAdvanced
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, signed

from .support import COI, OTHER_PARTS, QA, order_panel, post_all, problem, review_trail

RELEASE = {"decision": "release", "reason": "record, results and audit trail reviewed"}


async def custody_moved(harness: ServiceHarness, position: int, hash: str) -> None:
    head = CustodyTrailAdvanced(
        service="custody",
        coi=COI,
        position=position,
        hash=hash,
        recorded_at=datetime(2026, 11, 24, 9, tzinfo=UTC),
    )
    assert await harness.deliver(head, subject=COI) is Outcome.PROCESSED


async def ready(harness: ServiceHarness, client: httpx.AsyncClient) -> None:
    await post_all(client, await order_panel(harness))


async def release(client: httpx.AsyncClient) -> httpx.Response:
    return await signed(client, "/lots/lot-1/decision", RELEASE, QA)


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9", "EU-PartIV.11.3.1")
async def test_no_release_without_a_current_audit_trail_review(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await ready(harness, client)
    problem(await release(client), 409, "audit-trail-review-missing")
    reviewed = await review_trail(client)
    assert reviewed.status_code == 201, reviewed.text
    view = reviewed.json()
    assert view["current"] is True and view["moved"] == []
    assert {p["service"] for p in view["parts"]} == {"batch", "custody", "qc"}
    [sig] = view["signatures"]
    assert (sig["meaning"], sig["signer_id"]) == ("reviewed", "u-qa")
    # custody's records of the CoI move on after the review (a later head arrives)
    await custody_moved(harness, 10, "d" * 64)
    stale = problem(await release(client), 409, "audit-trail-review-stale")
    assert stale["moved"] == ["custody"]
    shown = (await client.get("/lots/lot-1/audit-trail-review", headers=QA)).json()
    assert (shown["current"], shown["moved"]) == (False, ["custody"])
    # reviewed again, up to custody's new head: the release goes through
    others = [OTHER_PARTS[0], {"service": "custody", "position": 10, "hash": "d" * 64}]
    assert (await review_trail(client, others=others)).status_code == 201
    assert (await release(client)).status_code == 201


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9")
async def test_a_review_of_parts_already_moved_on_is_refused(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await ready(harness, client)
    await custody_moved(harness, 12, "e" * 64)
    # QA prepared the review before custody's last record: refused, nothing recorded
    problem(await review_trail(client), 409, "audit-trail-review-stale")
    # the same position with another hash is not the record QC heard of either
    others = [OTHER_PARTS[0], {"service": "custody", "position": 12, "hash": "f" * 64}]
    problem(await review_trail(client, others=others), 409, "audit-trail-review-stale")
    problem(await client.get("/lots/lot-1/audit-trail-review", headers=QA), 404)
    # an older head arriving late (a replay) does not move QC's knowledge back
    await custody_moved(harness, 11, "0" * 64)
    others = [OTHER_PARTS[0], {"service": "custody", "position": 12, "hash": "e" * 64}]
    assert (await review_trail(client, others=others)).status_code == 201


async def test_a_review_names_each_part_once_and_qcs_as_it_is(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await ready(harness, client)
    body = {"parts": OTHER_PARTS, "comment": "no QC part"}
    problem(await signed(client, "/lots/lot-1/audit-trail-review", body, QA), 422, "review-parts")
    qc = {"service": "qc", "position": 10**6, "hash": "a" * 64}
    body = {"parts": [*OTHER_PARTS, qc], "comment": "a QC head QC does not have"}
    r = await signed(client, "/lots/lot-1/audit-trail-review", body, QA)
    assert problem(r, 409, "review-part-unknown")["qc_head"]["position"] < 10**6
    body = {"parts": [*OTHER_PARTS, {**qc, "position": 1}], "comment": "an old QC head"}
    r = await signed(client, "/lots/lot-1/audit-trail-review", body, QA)
    assert problem(r, 409, "audit-trail-review-stale")["moved"] == ["qc"]
    # unsigned: the content to sign names the parts
    trail = (await client.get("/audit-trail", params={"coi": COI}, headers=QA)).json()
    qc = {"service": "qc", **{k: trail["head"][k] for k in ("position", "hash")}}
    body = {"parts": [*OTHER_PARTS, qc], "comment": "all three"}
    shown = problem(await client.post("/lots/lot-1/audit-trail-review", json=body, headers=QA), 428)
    assert shown["meaning"] == "reviewed"
    assert shown["content"]["values"]["parts"] == body["parts"]
