"""Custody's audit trail: a CoI's patient, identity and unit records; identity values redacted
for those who may not read them, shown (and the read recorded) to clinical roles; late
collections; the hash chains of what it shows; site scoping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from v2v_custody.domain.identity import identity_stream
from v2v_runtime.eventstore import events
from v2v_runtime.testing import as_user

from .support import MRN, NAME, START, TREATMENT, Custody

AUDITOR = as_user("u-auditor-ann", "auditor", name="Ann Auditor")
COORDINATOR = as_user("u-coord-tc", "treatment-center-coordinator", sites=[TREATMENT])
OTHER_SITE_QA = as_user("u-qa2", "qa-reviewer", sites=["treatment-center-2"])


async def views_of(custody: Custody, coi: str) -> int:
    async with custody.harness.kit.sessions() as s:
        count = await s.execute(
            select(func.count()).where(
                events.c.stream_id == identity_stream(coi),
                events.c.event_type == "custody.identity.viewed",
            )
        )
        return int(count.scalar_one())


async def trail(custody: Custody, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = await custody.client.get("/audit-trail", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def patient_with_history(custody: Custody) -> tuple[str, str]:
    coi = await custody.enroll()
    # the nurse records the collection two hours after it ended: a late entry
    collected = await custody.collect(
        coi,
        collection_started_at=(START - timedelta(hours=6)).isoformat(),
        collection_ended_at=(START - timedelta(hours=2)).isoformat(),
    )
    assert collected["late"] is True
    r = await custody.post(
        f"/patients/{coi}/identity-corrections",
        {
            "medical_record_number": "MRN-77-4431-XQ",
            "reason_code": "transcription-error",
            "reason": f"typed {MRN} from the wrong label",
        },
    )
    assert r.status_code == 201, r.text
    return coi, collected["unit_id"]


@pytest.mark.requirement("21CFR11.10(b)", "21CFR11.10(e)", "EU-Annex11.9")
async def test_an_inspector_reads_a_cois_trail_without_its_identity(custody: Custody) -> None:
    coi, unit_id = await patient_with_history(custody)
    body = await trail(custody, AUDITOR, coi=coi)
    entries = body["entries"]
    assert {e["record"] for e in entries} == {coi, identity_stream(coi), unit_id}
    assert all(e["coi"] == coi for e in entries)
    by_type = {e["event_type"]: e for e in entries}
    recorded = by_type["custody.identity.recorded"]
    assert recorded["redacted"] and recorded["values"]["name"] == "[identity]"
    corrected = by_type["custody.identity.corrected"]
    assert (corrected["reason_code"], corrected["reason"]) == ("transcription-error", "[identity]")
    assert corrected["changes"] == [
        {"field": "medical_record_number", "old": "[identity]", "new": "[identity]"}
    ]
    assert (corrected["user_id"], corrected["role"]) == (
        "u-coordinator",
        "treatment-center-coordinator",
    )
    collection = by_type["custody.collection.recorded"]
    assert collection["late"] is True and collection["observed_at"] is not None
    assert collection["observed"]["collection_ended_at"] == collection["observed_at"]
    assert collection["recorded_at"] > collection["observed_at"]
    assert by_type["custody.patient.enrolled"]["late"] is None  # reports no observed time
    assert body["verification"]["status"] == "ok"
    assert {r["record"] for r in body["verification"]["records"]} == {
        coi,
        identity_stream(coi),
        unit_id,
    }
    # nothing identifying left the service, and nothing was shown: no read recorded
    text = (
        await custody.client.get("/audit-trail", params={"format": "csv"}, headers=AUDITOR)
    ).text
    assert NAME not in text and MRN not in text and "4431" not in text
    assert NAME not in str(body) and "4431" not in str(body)
    assert await views_of(custody, coi) == 0


@pytest.mark.requirement("21CFR11.10(g)")
async def test_a_clinical_reader_sees_the_identity_and_the_read_is_recorded(
    custody: Custody,
) -> None:
    coi, _ = await patient_with_history(custody)
    before = await views_of(custody, coi)
    body = await trail(custody, COORDINATOR, coi=coi)
    corrected = next(e for e in body["entries"] if e["event_type"] == "custody.identity.corrected")
    assert corrected["changes"] == [
        {"field": "medical_record_number", "old": MRN, "new": "MRN-77-4431-XQ"}
    ]
    assert corrected["reason"] == f"typed {MRN} from the wrong label"
    assert await views_of(custody, coi) == before + 1
    # the read is itself in the trail: who saw it, and when
    [viewed] = (await trail(custody, AUDITOR, coi=coi, type="identity.viewed", after=0))["entries"][
        -1:
    ]
    assert viewed["user_id"] == "u-coord-tc"


@pytest.mark.requirement("21CFR11.10(g)")
async def test_another_sites_reader_sees_none_of_the_patient(custody: Custody) -> None:
    coi, _ = await patient_with_history(custody)
    assert (await trail(custody, OTHER_SITE_QA, coi=coi))["entries"] == []
    assert (await trail(custody, OTHER_SITE_QA))["entries"] == []
    assert len((await trail(custody, AUDITOR))["entries"]) > 0


@pytest.mark.requirement("21CFR11.10(e)", "EU-PartIV.6.1")
async def test_a_late_collection_shows_in_the_patient_record(custody: Custody) -> None:
    coi, _ = await patient_with_history(custody)
    on_time = await custody.enroll()
    await custody.collect(
        on_time,
        collection_started_at=(START - timedelta(hours=2)).isoformat(),
        collection_ended_at=(START - timedelta(minutes=30)).isoformat(),
    )
    late = (await custody.get(f"/patients/{coi}")).json()["collections"]
    prompt = (await custody.get(f"/patients/{on_time}")).json()["collections"]
    assert [c["late"] for c in late] == [True] and [c["late"] for c in prompt] == [False]
