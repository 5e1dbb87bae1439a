"""Thaw at the treatment center (issue 14): refused — and the refusal kept — for a unit whose
lot QA has not released, whose release QA rejected, that is rejected or infused, another
patient's, or not held at the patient's treatment center; otherwise recorded, signed by the
infusion nurse, and published. Custody learns QA's decisions from QC's events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from v2v_custody.domain.events import LotDisposition, ThawRefusalReason, UnitStatus
from v2v_custody.domain.lot_release import LotRelease
from v2v_custody.domain.unit import Unit
from v2v_events.contracts.custody import RejectUnit, UnitThawed
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import as_user

from .support import (
    ACTOR,
    START,
    TREATMENT,
    Custody,
    assert_problem,
    released,
)

OTHER_CENTER_NURSE = as_user(
    "u-infusion-2", "infusion-nurse", sites=["treatment-center-2"], name="Ida Elsewhere"
)


async def thaws(custody: Custody, unit_id: str) -> list[dict[str, Any]]:
    r = await custody.get(f"/units/{unit_id}/thaws")
    assert r.status_code == 200, r.text
    listed: list[dict[str, Any]] = r.json()
    return listed


@pytest.mark.requirement("EU-PartIV.6.7", "EU-PartIV.16", "21CFR11.10(f)")
async def test_a_unit_qa_has_not_released_is_not_thawed_and_the_refusal_is_kept(
    custody: Custody,
) -> None:
    coi = await custody.enroll()
    lot_id = await custody.final_product_at_treatment_center(coi, ["BAG-1"], released=False)
    unit = (await custody.get("/units/BAG-1")).json()
    assert (unit["status"], unit["lot_disposition"], unit["thaw_started_at"]) == (
        "received",
        None,
        None,
    )
    # refused at once, before anything is signed: no 428, the refusal on record
    url = f"/patients/{coi}/units/BAG-1/thaw"
    started = custody.clock.current
    body = {"thaw_started_at": started.isoformat().replace("+00:00", "Z")}
    problem = assert_problem(await custody.unsigned(url, body), 409, "unit-not-released")
    assert lot_id in problem["detail"] and problem["unit_id"] == "BAG-1"
    [refused] = await thaws(custody, "BAG-1")
    assert (refused["outcome"], refused["reason_code"], refused["coi"]) == (
        "refused",
        "unit-not-released",
        coi,
    )
    assert refused["actor"] == {"user_id": "u-infusion", "role": "infusion-nurse"}
    assert refused["signatures"] == []
    assert await custody.harness.published(UnitThawed) == []

    # QA releases the lot (QC's event): the same nurse thaws it, signing (performed)
    await custody.release(coi, lot_id)
    assert (await custody.get("/units/BAG-1")).json()["lot_disposition"] == "released"
    shown = assert_problem(await custody.unsigned(url, body), 428, "signature-required")
    assert shown["meaning"] == "performed"
    assert shown["content"]["record"]["id"] == "BAG-1"
    assert shown["content"]["values"] == {"coi": coi, "unit_id": "BAG-1", **body}
    assert "I started thawing unit BAG-1" in shown["content"]["statement"]
    r = await custody.post(url, body)
    assert r.status_code == 201, r.text
    thawed = r.json()
    assert (thawed["outcome"], thawed["treatment_center"], thawed["late"]) == (
        "thawed",
        TREATMENT,
        False,
    )
    [sig] = thawed["signatures"]
    assert (sig["meaning"], sig["signer_id"], sig["signer_role"]) == (
        "performed",
        "u-infusion",
        "infusion-nurse",
    )
    [published] = await custody.harness.published(UnitThawed)
    assert (published.coi, published.unit_id, published.lot_id) == (coi, "BAG-1", lot_id)
    assert published.thaw_started_at == started
    assert published.actor.user_id == "u-infusion"
    unit = (await custody.get("/units/BAG-1")).json()
    assert unit["status"] == "received" and unit["thaw_started_at"] is not None
    assert [s["meaning"] for s in unit["signatures"]][-1] == "performed"
    assert [t["outcome"] for t in await thaws(custody, "BAG-1")] == ["refused", "thawed"]

    # reported again: the recorded thaw, nothing signed or published again
    again = await custody.unsigned(url, body)
    assert again.status_code == 200, again.text
    assert again.json() == thawed
    assert len(await custody.harness.published(UnitThawed)) == 1
    # another start for the same unit: a conflict, not a second thaw
    later = {"thaw_started_at": (custody.clock.current + timedelta(seconds=30)).isoformat()}
    assert_problem(await custody.post(url, later), 409, "unit-already-thawed")
    assert len(await thaws(custody, "BAG-1")) == 2


@pytest.mark.requirement("EU-PartIV.16", "21CFR11.10(f)")
async def test_rejected_infused_and_misplaced_units_are_refused_and_kept(custody: Custody) -> None:
    coi = await custody.enroll()
    # QA rejected the lot's release: the bag is not thawed
    lot_a = await custody.final_product_at_treatment_center(coi, ["BAG-A"], released=False)
    await custody.reject_release(coi, lot_a)
    assert (await custody.get("/units/BAG-A")).json()["lot_disposition"] == "release-rejected"
    problem = assert_problem(await custody.thaw(coi, "BAG-A"), 409, "unit-rejected")
    assert "QA rejected the release" in problem["detail"]
    # the unit itself rejected (e.g. the journey's RejectUnit)
    await custody.final_product_at_treatment_center(coi, ["BAG-R"])
    reject = RejectUnit(coi=coi, unit_id="BAG-R", reason="bag damaged", actor=ACTOR)
    assert await custody.harness.deliver(reject, subject=coi) is Outcome.PROCESSED
    problem = assert_problem(await custody.thaw(coi, "BAG-R"), 409, "unit-rejected")
    assert "bag damaged" in problem["detail"]
    # released, but never received at the treatment center (still at manufacturing)
    lot_m = await custody.produce_lot(coi, ["BAG-M"])
    await custody.release(coi, lot_m)
    assert_problem(await custody.thaw(coi, "BAG-M"), 409, "unit-not-at-treatment-center")
    # infused already
    await custody.final_product_at_treatment_center(coi, ["BAG-I"])
    started = await custody.thawed(coi, ["BAG-I"])
    body = {"unit_ids": ["BAG-I"], "infused_at": started.isoformat()}
    assert (await custody.post(f"/patients/{coi}/infusions", body)).status_code == 201
    later = custody.clock.current + timedelta(seconds=5)
    assert_problem(await custody.thaw(coi, "BAG-I", later), 409, "unit-infused")
    kept = {
        bag: [(t["outcome"], t["reason_code"]) for t in await thaws(custody, bag)]
        for bag in ("BAG-A", "BAG-R", "BAG-M", "BAG-I")
    }
    assert kept == {
        "BAG-A": [("refused", "unit-rejected")],
        "BAG-R": [("refused", "unit-rejected")],
        "BAG-M": [("refused", "unit-not-at-treatment-center")],
        "BAG-I": [("thawed", None), ("refused", "unit-infused")],
    }
    assert [u.unit_id for u in await custody.harness.published(UnitThawed)] == ["BAG-I"]


@pytest.mark.requirement("EU-PartIV.6.7", "21CFR11.10(f)")
async def test_another_patients_unit_is_a_chain_of_identity_mismatch(custody: Custody) -> None:
    coi = await custody.enroll()
    other = await custody.enroll()
    await custody.final_product_at_treatment_center(other, ["BAG-9"])
    problem = assert_problem(await custody.thaw(coi, "BAG-9"), 409, "unit-other-patient")
    assert other not in problem["detail"]  # the other patient's CoI is not disclosed
    # kept on the unit's own record, naming the patient it was asked for
    [refused] = await thaws(custody, "BAG-9")
    assert (refused["coi"], refused["reason_code"]) == (coi, "unit-other-patient")
    unit = (await custody.get("/units/BAG-9")).json()
    assert (unit["coi"], unit["thaw_started_at"]) == (other, None)
    # for its own patient it thaws
    assert (await custody.thaw(other, "BAG-9")).status_code == 201


@pytest.mark.requirement("EU-PartIV.16")
async def test_bad_thaw_requests_are_problems_and_record_nothing(custody: Custody) -> None:
    coi = await custody.enroll()
    apheresis = (await custody.collect(coi))["unit_id"]
    await custody.final_product_at_treatment_center(coi, ["BAG-1"])
    now = custody.clock.current
    assert_problem(await custody.thaw(coi, "BAG-404"), 404, "unit-not-found")
    assert_problem(await custody.thaw(coi, apheresis), 422, "unit-not-final-product")
    url = f"/patients/{coi}/units/BAG-1/thaw"
    for body in ({}, {"thaw_started_at": "2026-11-24T08:00:00"}, {"thaw_started_at": "soon"}):
        assert_problem(await custody.post(url, body), 422, "validation")
    assert_problem(
        await custody.post(url, {**{"thaw_started_at": now.isoformat()}, "extra": 1}),
        422,
        "validation",
    )
    assert_problem(await custody.thaw("CHA1B2C26000999", "BAG-1"), 404, "patient-not-found")
    # only an infusion nurse, at the patient's treatment center
    body = {"thaw_started_at": now.isoformat()}
    courier = await custody.client.post(url, json=body, headers=as_user("u-c", "courier"))
    assert_problem(courier, 403, "role-not-allowed")
    elsewhere = await custody.client.post(url, json=body, headers=OTHER_CENTER_NURSE)
    assert_problem(elsewhere, 404, "patient-not-found")  # another center's patient: unseen
    assert await thaws(custody, "BAG-1") == []
    assert await custody.harness.published(UnitThawed) == []


@pytest.mark.requirement("EU-PartIV.16")
async def test_qas_decision_is_kept_per_lot_whatever_arrives_first(custody: Custody) -> None:
    coi = await custody.enroll()
    # QC's lot.released before batch's lot.produced (two topics, no order between them)
    for message_id in ("rel-1", "rel-1", "rel-2"):  # redelivered, then published again
        outcome = await custody.harness.deliver(released(coi, "LOT-X"), subject=coi, id=message_id)
        assert outcome in (Outcome.PROCESSED, Outcome.DUPLICATE)
    await custody.produce_lot(coi, ["BAG-X"], lot_id="LOT-X")
    unit = (await custody.get("/units/BAG-X")).json()
    assert unit["lot_disposition"] == "released"
    async with custody.harness.kit.uow() as uow:
        release = await uow.repository(LotRelease).get(LotRelease.stream_id("LOT-X"))
    assert (release.disposition, release.coi, release.version) == (
        LotDisposition.RELEASED,
        coi,
        1,
    )
    # a decision for another patient's lot, or a second different one, is refused
    other = await custody.enroll()
    wrong = await custody.harness.deliver(released(other, "LOT-X"), subject=other)
    assert wrong is Outcome.DEAD_LETTERED
    # the trail of the patient shows QA's decision as custody recorded it
    r = await custody.client.get(
        "/audit-trail", params={"coi": coi}, headers=as_user("u-aud", "auditor")
    )
    entries = r.json()["entries"]
    [decision] = [e for e in entries if e["event_type"] == "custody.lot.released"]
    assert (decision["record"], decision["user_id"]) == ("lot:LOT-X", "u-qa")


def test_why_a_unit_may_not_be_used() -> None:
    """The one place that says whether a unit may be used (issue 15's holds plug in)."""
    unit = Unit.register_final_product(
        "BAG-1", "CHA1B2C26000001", "LOT-1", "site", TREATMENT, None, START
    )
    release = LotRelease.of("LOT-1")
    assert unit.why_not_usable(None) == (
        ThawRefusalReason.NOT_RELEASED,
        "lot LOT-1 of unit 'BAG-1' is not released by QA",
    )
    release.record_release("CHA1B2C26000001", "coa-1", START, START)
    assert unit.why_not_usable(release) is None
    elsewhere = LotRelease.of("LOT-1")
    elsewhere.record_release("CHA1B2C26000002", "coa-1", START, START)
    assert unit.why_not_usable(elsewhere) is not None  # released for another CoI: not this
    refused = LotRelease.of("LOT-1")
    refused.record_release_rejected("CHA1B2C26000001", "gap in the record", START, START)
    reason = unit.why_not_usable(refused)
    assert reason is not None and reason[0] is ThawRefusalReason.REJECTED
    unit.reject("damaged", START)
    assert unit.status is UnitStatus.REJECTED
    assert unit.why_not_usable(release) == (
        ThawRefusalReason.REJECTED,
        "unit 'BAG-1' is rejected: damaged",
    )
