"""Corrections (the old value kept, a reason, signed; a verified step verified again),
QA's signed disposition of exceptions, and the review by exception, signed by the reviewer
and refused while an exception is undispositioned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from v2v_batch.application.record_document import record_document
from v2v_batch.application.views import BatchRecord
from v2v_events.contracts.batch import BatchExceptionRaised, BatchRecordReviewed
from v2v_runtime.testing import ServiceHarness, signed

from .mbr_support import (
    GOOD,
    QA,
    QA_ID,
    clock,
    effective_mbr,
    open_mbr_batch,
    perform,
    perform_body,
)
from .support import OPERATOR, VERIFIER, assert_problem, verify


async def executed(
    client: httpx.AsyncClient, harness: ServiceHarness, harvest: float = 91.0
) -> str:
    """A batch with every step performed (harvest viability ``harvest``) and verified."""
    await effective_mbr(harness, client)
    batch_id = await open_mbr_batch(client, harness)
    for step in ("receipt", "selection", "harvest", "freezing"):
        values = None
        if step == "harvest":
            values = {**GOOD["harvest"], "viability_pct": {"value": harvest, "unit": "%"}}
        r = await perform(client, harness, batch_id, step, values)
        assert r.status_code == 201, r.text
    assert (await verify(client, batch_id, "harvest")).status_code == 201
    return batch_id


async def correct(
    client: httpx.AsyncClient,
    batch_id: str,
    value: Any,
    reason: str = "transcription error",
    **more: Any,
) -> httpx.Response:
    body = {"parameter": "viability_pct", "value": value, "unit": "%", "reason": reason, **more}
    return await signed(client, f"/batches/{batch_id}/steps/harvest/corrections", body)


@pytest.mark.requirement("EU-PartIV.6.1", "EU-Annex11.9")
async def test_a_correction_keeps_the_old_value_gives_a_reason_and_is_verified_again(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    batch_id = await executed(client, harness)
    r = await client.post(
        f"/batches/{batch_id}/steps/harvest/corrections",
        json={"parameter": "viability_pct", "value": 88.0, "unit": "%", "reason": " "},
    )
    assert assert_problem(r, 422, "reason-required")["field"] == "reason"
    assert_problem(await correct(client, batch_id, 91.0), 422, "correction-unchanged")
    r = await correct(client, batch_id, 88.0)
    assert r.status_code == 201, r.text
    harvest = r.json()
    value = next(v for v in harvest["values"] if v["name"] == "viability_pct")
    assert (value["value"], value["changed_after_entry"]) == (88.0, True)
    [c] = value["corrections"]
    assert (c["old"], c["new"], c["reason"]) == (91.0, 88.0, "transcription error")
    assert [s["meaning"] for s in c["signatures"]] == ["performed"]
    # The changed record is verified again — not by whoever corrected it.
    assert harvest["status"] == "performed" and harvest["verified_by"] is None
    assert (await verify(client, batch_id, "harvest")).status_code == 201
    # The audit trail shows old -> new.
    trail = (await client.get("/audit-trail", params={"coi": "CHA1B2C26000123"}, headers=QA)).json()
    changes = [c for e in trail["entries"] for c in e.get("changes", [])]
    assert {"field": "harvest.viability_pct", "old": 91.0, "new": 88.0} in [
        {k: c[k] for k in ("field", "old", "new")} for c in changes
    ]


async def test_a_critical_value_corrected_out_of_limits_raises_an_exception(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    batch_id = await executed(client, harness)
    assert (await correct(client, batch_id, 65.0)).status_code == 201
    [raised] = await harness.published(BatchExceptionRaised)
    assert raised.value == "65 %"


@pytest.mark.requirement("EU-PartIV.6.4", "EU-PartIV.11.4", "21CFR11.50(a)")
async def test_review_by_exception_waits_for_qa_dispositions_and_is_signed(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    batch_id = await executed(client, harness, harvest=64.0)
    assert (await correct(client, batch_id, 66.0, reason="recount")).status_code == 201
    assert (await verify(client, batch_id, "harvest")).status_code == 201
    review = (await client.get(f"/batches/{batch_id}/review")).json()
    assert [e["value"] for e in review["exceptions"]] == ["64 %", "66 %"]
    assert [d["deviation_id"] for d in review["deviations"]] == [None, None]
    assert [(c["step_id"], c["correction"]["new"]) for c in review["corrections"]] == [
        ("harvest", 66.0)
    ]
    assert review["late_entries"] == []
    assert review["blocking"] and review["blocking"][0].startswith("exceptions-undispositioned")
    r = await signed(client, f"/batches/{batch_id}/review", {}, QA)
    problem = assert_problem(r, 409, "exceptions-undispositioned")
    assert len(problem["exception_ids"]) == 2
    # QA dispositions each exception, signed (meaning approved).
    for i, e in enumerate(review["exceptions"]):
        url = f"/batches/{batch_id}/exceptions/{e['exception_id']}/disposition"
        body = {
            "disposition": "product-impact",
            "rationale": "viability below the specification: the lot is rejected",
            "deviation_id": f"DEV-{i}",
        }
        assert (await signed(client, url, body, OPERATOR)).status_code == 403  # QA's act
        r = await signed(client, url, body, QA)
        assert r.status_code == 200, r.text
        assert r.json()["disposition"]["dispositioned_by"]["user_id"] == QA_ID
        assert [s["meaning"] for s in r.json()["disposition"]["signatures"]] == ["approved"]
        assert_problem(await signed(client, url, body, QA), 409, "exception-dispositioned")
    r = await signed(client, f"/batches/{batch_id}/review", {}, QA)
    assert r.status_code == 201, r.text
    reviewed = r.json()
    assert reviewed["blocking"] == []
    assert [d["deviation_id"] for d in reviewed["deviations"]] == ["DEV-0", "DEV-1"]
    assert reviewed["review"]["reviewed_by"]["user_id"] == QA_ID
    assert [s["meaning"] for s in reviewed["review"]["signatures"]] == ["reviewed"]
    [announced] = await harness.published(BatchRecordReviewed)
    assert (announced.exceptions, announced.corrections) == (2, 1)
    # The reviewed record is closed.
    assert_problem(await correct(client, batch_id, 67.0), 409, "record-reviewed")
    assert_problem(
        await signed(client, f"/batches/{batch_id}/review", {}, QA), 409, "record-reviewed"
    )


async def test_the_review_lists_late_entries_and_waits_for_every_step(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await effective_mbr(harness, client)
    batch_id = await open_mbr_batch(client, harness)
    assert (await perform(client, harness, batch_id, "receipt")).status_code == 201
    body = perform_body(harness, "selection")
    clock(harness).advance(timedelta(hours=3))  # entered more than an hour after it ended
    r = await signed(client, f"/batches/{batch_id}/steps/selection", body)
    assert r.status_code == 201 and r.json()["late"] is True
    review = (await client.get(f"/batches/{batch_id}/review", headers=VERIFIER)).json()
    assert [e["step_id"] for e in review["late_entries"]] == ["selection"]
    assert review["blocking"][0].startswith("steps-outstanding")
    r = await signed(client, f"/batches/{batch_id}/review", {}, QA)
    assert assert_problem(r, 409, "steps-outstanding")["steps"] == ["harvest", "freezing"]


@pytest.mark.requirement("EU-Annex11.8.1", "EU-Annex11.8.2", "21CFR11.50(b)")
async def test_the_executed_record_as_a_document_shows_entries_signatures_and_changes(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    batch_id = await executed(client, harness, harvest=64.0)
    assert (await correct(client, batch_id, 66.0, reason="recount")).status_code == 201
    review = (await client.get(f"/batches/{batch_id}/review")).json()
    first = review["exceptions"][0]["exception_id"]
    url = f"/batches/{batch_id}/exceptions/{first}/disposition"
    body = {"disposition": "product-impact", "rationale": "below specification"}
    assert (await signed(client, url, body, QA)).status_code == 200
    record = BatchRecord.model_validate((await client.get(f"/batches/{batch_id}")).json())
    assert record.execution is not None
    document = record_document(record, record.execution)
    text = "\n".join(f"{s.title}\n" + "\n".join(s.lines) for s in document)
    assert f"Executed batch record — batch {batch_id}" in text
    assert "Master batch record S7TEST version 1" in text
    assert (
        "Viability pct (critical): 66.0 % [limits >= 70 %] OUT OF LIMITS — changed after " in text
    )
    assert "corrected from 64.0 to 66.0 by u-batch-operator" in text and ": recount" in text
    assert "Bag intact: True — as originally entered" in text
    assert "Signed (performed) by Olga Operator (u-batch-operator, cell-therapy-specialist)" in text
    assert "Signed (verified) by Vera Verifier" in text  # kept though voided
    assert "Verified by u-batch-verifier at " in text and "voided by a later correction" in text
    assert "Second-person verification: OUTSTANDING" in text  # the correction voided it
    assert "Disposition product-impact by u-mbr-qa" in text
    assert "Signed (approved) by Quentin QA" in text
    assert "Disposition: OUTSTANDING" in text  # the second exception
    assert "Material CD4-BEADS lot LOT-CD4-7: 1.0 vial" in text
    assert text.rstrip().endswith("Not reviewed.")
