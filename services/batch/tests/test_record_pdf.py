"""GET /batches/{batch_id}/record.pdf: the executed batch record as a PDF for QA and
inspectors. A batch of the seeded CAR-T MBR is executed over HTTP (a critical value out of
limits, a correction, second-person verifications, QA's disposition, the lot, the review);
the PDF's text, extracted with pypdf, shows every entry, signature, exception and change."""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from v2v_runtime.testing import ServiceHarness, as_user, signed

from .mbr_support import QA, QA_ID, clock, effective_seed, open_mbr_batch, seed_entry
from .support import COI, LOT, OPERATOR, OPERATOR_ID, SITE, VERIFIER_ID, assert_problem, open_batch

ELSEWHERE = as_user("u-pdf-qa-paris", "qa-reviewer", sites=["SITE-PARIS-1"])
NURSE = as_user("u-pdf-nurse", "apheresis-nurse")
RATIONALE = "re-count 64 % → 72 % on a second sample; no product impact"


def at(iso: str) -> str:
    """A time from the API as the record prints it."""
    return datetime.fromisoformat(iso).isoformat()


def text_of(pdf: bytes) -> tuple[PdfReader, list[str]]:
    """The reader and each page's text, its whitespace made single spaces (lines wrap)."""
    reader = PdfReader(io.BytesIO(pdf))
    return reader, [" ".join(p.extract_text().split()) for p in reader.pages]


async def executed_car_t(client: httpx.AsyncClient, harness: ServiceHarness) -> str:
    """A CAR-T batch: every step performed (viability at harvest 64 %: below the limit, an
    exception), the critical ones verified by a second person, the wash viability corrected
    85 → 88 %, the exception dispositioned by QA, the lot produced and the record reviewed."""
    seed = await effective_seed(client, harness, "S2CART")
    batch_id = await open_mbr_batch(client, harness, product="S2CART")
    low = {
        "wash": {"viability_pct": {"value": 85.0, "unit": "%"}},
        "harvest": {"viability_pct": {"value": 64.0, "unit": "%"}},
    }
    for step in seed.content.steps:
        body = seed_entry(harness, step, **low.get(step.step_id, {}))
        r = await signed(client, f"/batches/{batch_id}/steps/{step.step_id}", body)
        assert r.status_code == 201, (step.step_id, r.text)
        if step.verified:
            url = f"/batches/{batch_id}/steps/{step.step_id}/verification"
            r = await signed(client, url, {}, OPERATOR, signer=VERIFIER_ID)
            assert r.status_code == 201, r.text
    correction = {
        "parameter": "viability_pct",
        "value": 88.0,
        "unit": "%",
        "reason": "transcription error",
    }
    r = await signed(client, f"/batches/{batch_id}/steps/wash/corrections", correction)
    assert r.status_code == 201, r.text
    [exception] = (await client.get(f"/batches/{batch_id}/review")).json()["exceptions"]
    url = f"/batches/{batch_id}/exceptions/{exception['exception_id']}/disposition"
    body = {"disposition": "no-product-impact", "rationale": RATIONALE, "deviation_id": "DEV-7"}
    assert (await signed(client, url, body, QA)).status_code == 200
    assert (await client.post(f"/batches/{batch_id}/lot", json=LOT)).status_code == 201
    assert (await signed(client, f"/batches/{batch_id}/review", {}, QA)).status_code == 201
    return batch_id


def signatures(execution: dict[str, Any]) -> list[dict[str, Any]]:
    """Every signature of the executed record: steps, corrections, dispositions, review."""
    found = [s for step in execution["steps"] for s in step["signatures"]]
    found += [
        s
        for step in execution["steps"]
        for v in step["values"]
        for c in v["corrections"]
        for s in c["signatures"]
    ]
    found += [s for e in execution["exceptions"] for s in e["disposition"]["signatures"]]
    return found + execution["review"]["signatures"]


@pytest.mark.requirement("EU-Annex11.8.1", "EU-Annex11.8.2", "21CFR11.50(b)", "21CFR11.10(b)")
async def test_the_executed_record_pdf_shows_entries_signatures_exceptions_and_changes(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    batch_id = await executed_car_t(client, harness)
    record = (await client.get(f"/batches/{batch_id}")).json()
    execution = record["execution"]

    r = await client.get(f"/batches/{batch_id}/record.pdf", headers=QA)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'inline; filename="batch-record-{batch_id}.pdf"'
    reader, pages = text_of(r.content)
    text = " ".join(pages)

    # The title block, and on every page: which record, who generated it when, page n of N.
    assert "Executed batch record" in pages[0]
    for label, value in (
        ("Batch", batch_id),
        ("Lot", record["lot_id"]),
        ("Product", "S2CART — Autologous anti-CD19 CAR-T"),
        ("Master batch record", f"S2CART version 1 at {SITE}"),
        ("Chain of identity", COI),
    ):
        assert f"{label} {value}" in pages[0]
    now = clock(harness).current
    generated = f"Generated at {now:%Y-%m-%d %H:%M:%S} UTC by Quentin QA ({QA_ID})"
    assert len(pages) > 1
    for n, page in enumerate(pages, 1):
        assert f"Batch {batch_id}" in page and generated in page
        assert f"Page {n} of {len(pages)}" in page
    assert "Page 1 of" in pages[0]
    # Metadata: what it is, made by vein2vein, created at the service clock's time.
    meta = reader.metadata
    assert meta is not None
    assert meta.title == f"Executed batch record — Batch {batch_id}"
    assert meta.creator == "vein2vein" and meta.creation_date == now

    # Every step's entry with who performed it and when it was entered.
    for step in execution["steps"]:
        assert f"{step['position']}. {step['name']}" in text
        who = step["performed_by"]
        assert (
            f"Performed by {who['user_id']} ({who['role']}); entered {at(step['recorded_at'])}"
            in text
        )
        if step["verification_required"]:
            assert f"Verified by {VERIFIER_ID} at {at(step['verified_at'])}" in text
    # Every signature: printed name, meaning, UTC and site time.
    found = signatures(execution)
    assert {s["meaning"] for s in found} == {"performed", "verified", "approved", "reviewed"}
    for s in found:
        assert (
            f"Signed ({s['meaning']}) by {s['signer_name']} ({s['signer_id']}, "
            f"{s['signer_role']}) at {at(s['signed_at'])} UTC / {s['signed_at_site']}"
        ) in text
    assert "Signed (verified) by Vera Verifier" in text
    assert "Signed (approved) by Quentin QA" in text

    # Annex 11 §8.2: the corrected value, its old and new value and reason; the others as
    # originally entered.
    wash = next(s for s in execution["steps"] if s["step_id"] == "wash")
    viability = next(v for v in wash["values"] if v["name"] == "viability_pct")
    [correction] = viability["corrections"]
    assert re.search(
        r"Viability after wash: 88\.0 % \[limits [^\]]+\] — changed after original entry "
        rf"corrected from 85\.0 to 88\.0 by {OPERATOR_ID} at "
        rf"{re.escape(at(correction['corrected_at']))}: transcription error",
        text,
    ), text
    receipt = "Product temperature on receipt (critical): 5.0 °C [limits 1 to 10 °C]"
    assert f"{receipt} — as originally entered" in text
    assert text.count("changed after original entry") == 1

    # The exception and QA's disposition.
    [exception] = execution["exceptions"]
    assert f"{exception['exception_id']} at harvest ({exception['kind']}):" in text
    assert re.search(r"Viability at harvest \(critical\): 64\.0 % \[[^\]]+\] OUT OF LIMITS", text)
    assert (
        f"Disposition no-product-impact by {QA_ID} at "
        f"{at(exception['disposition']['dispositioned_at'])}: {RATIONALE} (deviation DEV-7)"
    ) in text
    reviewed = at(execution["review"]["reviewed_at"])
    assert f"Reviewed by {QA_ID} at {reviewed}: 1 exception(s), 1 correction(s), " in text

    # The same record at the same time is the same document.
    again = await client.get(f"/batches/{batch_id}/record.pdf", headers=QA)
    assert again.content == r.content


async def test_the_record_pdf_of_a_fixed_step_or_unknown_batch_is_a_problem(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    fixed = await open_batch(harness)
    r = await client.get(f"/batches/{fixed}/record.pdf", headers=QA)
    assert_problem(r, 409, "batch-has-no-mbr")
    r = await client.get("/batches/no-such-batch/record.pdf", headers=QA)
    assert_problem(r, 404, "batch-not-found")


async def test_the_record_pdf_is_not_for_another_sites_people_nor_other_roles(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await effective_seed(client, harness, "S2CART")
    batch_id = await open_mbr_batch(client, harness, product="S2CART")
    url = f"/batches/{batch_id}/record.pdf"
    # a record not yet performed prints too: each step "Not performed."
    r = await client.get(url, headers=OPERATOR)
    assert r.status_code == 200, r.text
    _, pages = text_of(r.content)
    assert "Not performed." in " ".join(pages) and "Not reviewed." in " ".join(pages)
    assert_problem(await client.get(url, headers=ELSEWHERE), 404, "batch-not-found")
    assert_problem(await client.get(url, headers=NURSE), 403, "role-not-allowed")
