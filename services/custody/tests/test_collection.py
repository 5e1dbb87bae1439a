"""Collection: a DIN per collection, linked to the CoI, and an apheresis unit."""

from __future__ import annotations

import json
import re

import pytest

from v2v_custody.domain.isbt128 import mod37_2_value
from v2v_events.contracts.custody import CollectionRecorded
from v2v_events.ids import DIN_PATTERN

from .support import APHERESIS, APHERESIS_NURSE, SITE, START, Custody, assert_problem, collection


@pytest.mark.requirement("EU-Annex11.6", "EU-PartIV.6.7")
async def test_collection_issues_a_din_linked_to_the_coi(custody: Custody) -> None:
    coi = await custody.enroll()
    body = await custody.collect(coi)
    assert body["din"] == "A1B2C26000001"
    assert re.fullmatch(DIN_PATTERN, body["din"])
    value = mod37_2_value(body["din"])
    assert body["din_check"] == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"[value]
    assert body["din_flag"] == f"{60 + value}"
    assert body["coi"] == coi
    [published] = await custody.harness.published(CollectionRecorded)
    assert (published.coi, published.din, published.unit_id) == (coi, body["din"], body["unit_id"])
    assert published.din_check == body["din_check"]

    unit = (await custody.get(f"/units/{body['unit_id']}")).json()
    assert unit["kind"] == "apheresis"
    assert (unit["coi"], unit["din"], unit["status"]) == (coi, body["din"], "registered")
    assert (unit["custodian"], unit["expected_destination"]) == (APHERESIS, SITE)
    assert unit["expected_location_kind"] == "manufacturing-site"


@pytest.mark.requirement("EU-PartIV.6.7")
async def test_one_coi_links_many_dins(custody: Custody) -> None:
    coi = await custody.enroll()
    other = await custody.enroll()
    first = await custody.collect(coi)
    await custody.collect(other)
    second = await custody.collect(coi)
    assert [first["din"], second["din"]] == ["A1B2C26000001", "A1B2C26000003"]
    patient = (await custody.get(f"/patients/{coi}")).json()
    assert patient["dins"] == [first["din"], second["din"]]
    units = (await custody.get(f"/patients/{coi}/units")).json()
    assert {u["din"] for u in units} == {first["din"], second["din"]}


async def test_collection_rules(custody: Custody) -> None:
    coi = await custody.enroll()
    end_before_start = collection(
        collection_started_at=START.isoformat(), collection_ended_at=START.isoformat()
    )
    cases = [
        (end_before_start, 422, "collection-times"),
        (collection(apheresis_center="ac-elsewhere"), 422, "apheresis-center-mismatch"),
        (collection(collection_ended_at="2026-11-24T09:00:00"), 422, "validation"),  # naive
        (collection(volume_ml=0), 422, "validation"),
        (
            collection(collection_ended_at="2026-11-25T08:00:00+00:00"),
            422,
            "collection-in-future",
        ),
    ]
    for body, status, code in cases:
        assert_problem(await custody.post(f"/patients/{coi}/collections", body), status, code)
    assert_problem(
        await custody.post("/patients/CHA1B2C26000999/collections", collection()),
        404,
        "patient-not-found",
    )
    assert await custody.harness.published(CollectionRecorded) == []
    # Refused collections used no DIN.
    assert (await custody.collect(coi))["din"] == "A1B2C26000001"


async def test_instants_outside_the_utc_range_are_a_422_problem(custody: Custody) -> None:
    # Found by fuzzing: an offset at the ends of the calendar cannot be converted to UTC
    # (OverflowError, 500).
    coi = await custody.enroll()
    for body in (
        collection(collection_started_at="0001-01-01T00:00:00+14:00"),
        collection(collection_ended_at="9999-12-31T23:59:59-14:00"),
    ):
        r = await custody.post(f"/patients/{coi}/collections", body)
        assert_problem(r, 422, "validation")
    assert await custody.harness.published(CollectionRecorded) == []


async def test_infinite_cell_count_is_a_422_problem(custody: Custody) -> None:
    coi = await custody.enroll()
    for value in (float("inf"), float("nan")):
        body = collection(total_nucleated_cells=value)
        r = await custody.client.post(
            f"/patients/{coi}/collections",
            content=json.dumps(body),  # json.dumps writes Infinity / NaN
            headers={"content-type": "application/json", **APHERESIS_NURSE},
        )
        assert_problem(r, 422, "validation")
