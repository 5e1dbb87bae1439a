"""What custody accepts, every consumer can process: known sites and centers, an earliest
collection within the window around today, reported times within the configured window, and
identities no longer than an Actor may be (the issue: 9999-12-31 or an unknown treatment
center accepted here, then dead-lettered downstream and the journey stalled)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from v2v_custody.adapters.config import load_sites
from v2v_custody.bootstrap import build
from v2v_custody.settings import CustodySettings
from v2v_events.contracts.custody import (
    CollectionRecorded,
    InfusionRecorded,
    PatientEnrolled,
    UnitThawed,
)
from v2v_runtime.testing import OVERSIZED_IDENTITIES, SeqIds, ServiceHarness, StepClock

from .support import START, Custody, assert_problem, collection, enrollment


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("treatment_center", "unknown-treatment-center"),
        ("apheresis_center", "unknown-apheresis-center"),
        ("manufacturing_site", "unknown-manufacturing-site"),
    ],
)
async def test_an_unknown_site_or_center_is_a_422_naming_the_field(
    custody: Custody, field: str, code: str
) -> None:
    r = await custody.post("/patients", enrollment(**{field: "nowhere-1"}))
    body = assert_problem(r, 422, code)
    assert body["field"] == field
    assert body["config_version"] == "sites.v1"
    assert await custody.harness.outbox() == []


@pytest.mark.parametrize("day", ["9999-12-31", "1900-01-01", "0001-01-01"])
async def test_earliest_collection_outside_the_calendar_of_the_contracts(
    custody: Custody, day: str
) -> None:
    body = assert_problem(
        await custody.post("/patients", enrollment(earliest_collection=day)), 422, "validation"
    )
    assert body["errors"][0]["loc"] == ["body", "earliest_collection"]
    assert await custody.harness.outbox() == []


@pytest.mark.requirement("EU-Annex11.4.7")
@pytest.mark.parametrize(
    "day",
    [
        date(2026, 11, 1),  # weeks ago
        date(2026, 11, 22),  # yesterday even west of UTC-12
        date(2026, 11, 24) + timedelta(days=181),  # past the 180-day horizon
        date(2199, 12, 31),
    ],
)
async def test_earliest_collection_outside_the_window_is_a_422_naming_the_field(
    custody: Custody, day: date
) -> None:
    r = await custody.post("/patients", enrollment(earliest_collection=day.isoformat()))
    body = assert_problem(r, 422, "earliest-collection-out-of-window")
    assert body["field"] == "earliest_collection"
    assert (body["earliest"], body["latest"]) == ("2026-11-23", "2027-05-23")


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 11, 23),  # still today in UTC-12 at 08:00 UTC
        date(2026, 11, 24),
        date(2026, 11, 24) + timedelta(days=180),
    ],
)
async def test_earliest_collection_within_the_window_is_enrolled(
    custody: Custody, day: date
) -> None:
    await custody.enroll(earliest_collection=day.isoformat())
    [enrolled] = await custody.harness.published(PatientEnrolled)
    assert enrolled.earliest_collection == day


@pytest.mark.requirement("EU-Annex11.10")
async def test_the_window_and_the_site_directory_are_configuration(tmp_path: Path) -> None:
    sites = tmp_path / "sites.json"
    sites.write_text(
        json.dumps(
            {
                "config_version": "sites.test-7",
                "treatment_centers": ["tc-x"],
                "apheresis_centers": ["ac-x"],
                "manufacturing_sites": ["ms-x"],
            }
        )
    )
    settings = CustodySettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "custody"),
        sites_config=sites,
        earliest_collection_horizon_days=7,
    )
    harness = ServiceHarness(build(settings, clock=StepClock(START), ids=SeqIds()))
    await harness.start()
    try:
        async with harness.client() as client:
            other = Custody(harness, client)
            known = {"treatment_center": "tc-x", "apheresis_center": "ac-x"}
            await other.enroll(**known, manufacturing_site="ms-x", earliest_collection="2026-12-01")
            r = await other.post(
                "/patients",
                enrollment(**known, manufacturing_site="ms-x", earliest_collection="2026-12-02"),
            )
            assert_problem(r, 422, "earliest-collection-out-of-window")
            r = await other.post("/patients", enrollment(**known, earliest_collection="2026-12-01"))
            assert assert_problem(r, 422, "unknown-manufacturing-site")["config_version"] == (
                "sites.test-7"
            )
    finally:
        await harness.close()


def test_the_packaged_site_directory() -> None:
    sites = load_sites()
    assert sites.config_version == "sites.v1"
    assert "treatment-center-1" in sites.treatment_centers
    assert "apheresis-center-1" in sites.apheresis_centers
    assert "manufacturing-site-1" in sites.manufacturing_sites


async def test_reported_collection_times_within_the_window(custody: Custody) -> None:
    coi = await custody.enroll()
    old = START - timedelta(days=90, minutes=1)
    cases = [
        # a courier's clock may run a little ahead, not a day
        (collection(collection_ended_at=(START + timedelta(days=1)).isoformat()), "in-future"),
        (collection(collection_started_at=old.isoformat()), "too-old"),
    ]
    for body, code in cases:
        r = await custody.post(f"/patients/{coi}/collections", body)
        problem = assert_problem(r, 422, f"collection-{code}")
        assert problem["field"] in ("collection_ended_at", "collection_started_at")
    for edge in ("2199-12-31T23:00:00Z", "9999-12-31T00:00:00Z", "1900-01-01T00:00:00Z"):
        r = await custody.post(f"/patients/{coi}/collections", collection(collection_ended_at=edge))
        assert r.status_code == 422, r.text
    assert await custody.harness.published(CollectionRecorded) == []
    started = START - timedelta(days=89)
    await custody.collect(
        coi,
        collection_started_at=started.isoformat(),
        collection_ended_at=(started + timedelta(hours=4)).isoformat(),
    )


async def test_reported_thaw_and_infusion_times_within_the_window(custody: Custody) -> None:
    coi = await custody.enroll()
    await custody.final_product_at_treatment_center(coi, ["BAG-1"])
    url = f"/patients/{coi}/units/BAG-1/thaw"
    for at, code in (
        (datetime(2026, 8, 1, tzinfo=UTC), "thaw-too-old"),
        (START + timedelta(hours=1), "thaw-in-future"),
        (START - timedelta(minutes=1), "thaw-before-receipt"),  # received just after START
    ):
        body = {"thaw_started_at": at.isoformat()}
        problem = assert_problem(await custody.post(url, body), 422, code)
        assert problem["field"] == "thaw_started_at"
    for edge in ("2199-12-31T23:00:00Z", "9999-12-31T00:00:00Z", "1900-01-01T00:00:00Z"):
        assert (await custody.post(url, {"thaw_started_at": edge})).status_code == 422
    await custody.thawed(coi, ["BAG-1"])
    body = {"unit_ids": ["BAG-1"], "infused_at": datetime(2026, 8, 1, tzinfo=UTC).isoformat()}
    problem = assert_problem(
        await custody.post(f"/patients/{coi}/infusions", body), 422, "infusion-too-old"
    )
    assert problem["field"] == "infused_at"
    assert await custody.harness.published(InfusionRecorded) == []
    assert await custody.harness.published(UnitThawed) != []


async def test_identities_longer_than_an_actor_are_a_4xx_problem(custody: Custody) -> None:
    for headers in OVERSIZED_IDENTITIES:
        r = await custody.client.post("/patients", json=enrollment(), headers=headers)
        assert r.status_code in (401, 403), r.text  # a token's claims, never a 500
        assert r.headers["content-type"] == "application/problem+json"
    assert await custody.harness.outbox() == []
