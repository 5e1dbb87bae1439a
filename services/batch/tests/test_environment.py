"""Environmental monitoring through the API: the room register, results classified against
the site's programme (EU GMP Annex 1), bad input refused naming the field with nothing
recorded, corrections keeping the old value, alert trends flagged, who may record what."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from v2v_events.contracts.environment import EnvironmentActionLimitExceeded
from v2v_runtime.testing import ServiceHarness, as_user

from .em_support import (
    ANALYST,
    ANALYST_ID,
    PARIS_ANALYST,
    QA,
    ROOM,
    SUPERVISOR,
    ago,
    post_result,
    recorded,
    register_room,
)
from .support import OPERATOR, SITE, assert_problem

PARIS_SUPERVISOR = as_user("u-em-paris-sup", "manufacturing-supervisor", sites=["SITE-PARIS-1"])


async def test_the_room_register(client: httpx.AsyncClient) -> None:
    shown = await register_room(client, grade="B")
    assert (shown["room_id"], shown["grade"], shown["site"]) == (ROOM, "B", SITE)
    assert shown["registered_by"] == "u-em-supervisor"
    body = {"room_id": "GRADE-C-2", "name": "Wash room", "grade": "C", "site": SITE}
    assert (await client.post("/rooms", json=body, headers=QA)).status_code == 201
    again = {"room_id": ROOM, "name": "Other", "grade": "A", "site": SITE}
    assert_problem(
        await client.post("/rooms", json=again, headers=QA), 409, "room-already-registered"
    )
    assert_problem(
        await client.post("/rooms", json=body, headers=OPERATOR), 403, "role-not-allowed"
    )
    elsewhere = body | {"room_id": "P-1", "site": SITE}
    assert_problem(
        await client.post("/rooms", json=elsewhere, headers=PARIS_SUPERVISOR), 403, "site-not-yours"
    )
    bad = await client.post("/rooms", json=body | {"room_id": "G-3", "grade": "E"}, headers=QA)
    assert_problem(bad, 422)
    rooms = (await client.get("/rooms", headers=ANALYST)).json()
    assert [(r["room_id"], r["grade"]) for r in rooms] == [("GRADE-B-1", "B"), ("GRADE-C-2", "C")]
    assert (await client.get("/rooms", headers=PARIS_ANALYST)).json() == []
    assert (await client.get(f"/rooms/{ROOM}", headers=ANALYST)).json()["name"] == f"Room {ROOM}"
    assert_problem(await client.get(f"/rooms/{ROOM}", headers=PARIS_ANALYST), 404, "room-not-found")


@pytest.mark.requirement("EU-Annex1.9", "EU-PartIV.6.1")
async def test_a_result_is_classified_and_kept_with_its_limits_and_edition(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await register_room(client)
    sampled = ago(harness, days=3)
    read = ago(harness, minutes=5)
    shown = await recorded(client, sampled, 3, "SP-1", read_at=read.isoformat(), unit="CFU/4h")
    assert (shown["level"], shown["value"], shown["unit"], shown["grade"]) == (
        "alert",
        3,
        "CFU/4 h",
        "B",
    )
    assert shown["limits"] == {
        "basis": "set",
        "action": 5,
        "alert": 2,
        "text": "action > 5 CFU/4 h, alert > 2 CFU/4 h",
    }
    assert (shown["edition"], shown["config_version"]) == ("EU GMP Annex 1 (2022)", "em-2026.1")
    assert shown["impact_from"] == (sampled - timedelta(hours=24)).isoformat().replace(
        "+00:00", "Z"
    )
    assert shown["recorded_by"] == {"user_id": ANALYST_ID, "role": "qc-analyst"}
    assert (shown["late"], shown["alert_trend"], shown["corrections"]) == (False, False, [])
    assert await harness.published(EnvironmentActionLimitExceeded) == []  # an alert only

    # particles: the supervisor may enter counts; the limit follows the occupancy
    particles = {"sample_type": "particles-0.5um", "unit": "particles/m3"}
    r = await post_result(
        client, ago(harness, hours=1), 10_000, "PC-1", SUPERVISOR, occupancy="at-rest", **particles
    )
    assert r.status_code == 201, r.text
    assert (r.json()["level"], r.json()["occupancy"]) == ("action", "at-rest")
    r = await post_result(client, ago(harness, hours=1), 10_000, "PC-2", SUPERVISOR, **particles)
    assert r.json()["level"] == "within"  # in operation: 352 000 / m³
    [excursion] = await harness.published(EnvironmentActionLimitExceeded)
    assert (excursion.room_id, excursion.excursion_id, excursion.batches) == (
        ROOM,
        (await client.get("/environment/results", params={"room": ROOM, "level": "action"})).json()[
            0
        ]["result_id"],
        [],
    )
    listed = (await client.get("/environment/results", params={"room": ROOM})).json()
    assert [r["sample_id"] for r in listed] == ["SP-1", "PC-1", "PC-2"]  # as sampled


async def test_bad_input_is_refused_naming_the_field_and_nothing_is_recorded(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await register_room(client)
    at = ago(harness, hours=2)

    async def refused(
        status: int,
        code: str,
        field: str | None,
        when: datetime = at,
        value: float = 1,
        **body: object,
    ) -> None:
        r = await post_result(client, when, value, "SP-X", **body)
        problem = assert_problem(r, status, code)
        if field is not None:
            assert problem["field"] == field, problem

    await refused(422, "room-unknown", "room_id", room_id="GRADE-Z-9")
    await refused(422, "sample-type-unknown", "sample_type", sample_type="nose-swab")
    await refused(422, "unit-mismatch", "unit", unit="CFU/plate")
    await refused(
        422,
        "occupancy-required",
        "occupancy",
        sample_type="particles-5um",
        unit="particles/m³",
        occupancy=None,
    )
    await refused(
        422, "read-before-sampling", "read_at", read_at=(at - timedelta(hours=1)).isoformat()
    )
    await refused(422, "sample-in-future", "sampled_at", when=at + timedelta(days=1))
    await refused(422, "sample-too-old", "sampled_at", when=at - timedelta(days=200))
    await refused(422, "validation", None, value=-1)
    assert_problem(await post_result(client, at, 1, "SP-X", OPERATOR), 403, "role-not-allowed")
    assert_problem(await post_result(client, at, 1, "SP-X", PARIS_ANALYST), 403, "site-not-yours")
    # viable samples are QC's to read
    assert_problem(
        await post_result(client, at, 1, "SP-X", SUPERVISOR), 403, "viable-results-by-qc"
    )
    listed = await client.get("/environment/results", params={"room": ROOM}, headers=ANALYST)
    assert listed.json() == []
    assert await harness.published(EnvironmentActionLimitExceeded) == []

    await recorded(client, at, 1, "SP-X")
    again = await post_result(client, at, 9, "SP-X")
    assert_problem(again, 409, "em-sample-already-recorded")
    [kept] = (await client.get("/environment/results", params={"room": ROOM})).json()
    assert kept["value"] == 1 and await harness.published(EnvironmentActionLimitExceeded) == []


@pytest.mark.requirement("EU-Annex1.9", "EU-PartIV.6.1", "EU-Annex11.9")
async def test_a_correction_keeps_the_old_value_and_an_excursion_it_makes_is_announced(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await register_room(client)
    shown = await recorded(client, ago(harness, days=2), 1, "SP-7")
    url = f"/environment/results/{shown['result_id']}/corrections"
    fix = {"value": 8, "unit": "CFU/4 h", "reason": "recount: 8 colonies, 1 was a typo"}
    r = await client.post(url, json=fix, headers=ANALYST)
    assert r.status_code == 201, r.text
    corrected = r.json()
    assert (corrected["value"], corrected["level"], corrected["changed_after_entry"]) == (
        8,
        "action",
        True,
    )
    [c] = corrected["corrections"]
    assert (c["old_value"], c["new_value"], c["old_level"], c["new_level"]) == (
        1,
        8,
        "within",
        "action",
    )
    assert c["reason"] == fix["reason"] and c["corrected_by"]["user_id"] == ANALYST_ID
    [excursion] = await harness.published(EnvironmentActionLimitExceeded)
    assert (excursion.excursion_id, excursion.value) == (shown["result_id"], 8)

    # below the action limit and above again: the excursion was announced already
    for value in (4, 9):
        r = await client.post(url, json=fix | {"value": value}, headers=ANALYST)
        assert r.status_code == 201, r.text
    assert len(await harness.published(EnvironmentActionLimitExceeded)) == 1
    assert_problem(
        await client.post(url, json=fix | {"value": 9}, headers=ANALYST), 409, "em-result-unchanged"
    )
    assert_problem(
        await client.post(url, json=fix | {"unit": "CFU/plate"}, headers=ANALYST),
        422,
        "unit-mismatch",
    )
    assert_problem(
        await client.post(url, json=fix, headers=SUPERVISOR), 403, "viable-results-by-qc"
    )
    assert_problem(
        await client.post(url, json=fix, headers=PARIS_ANALYST), 404, "em-result-not-found"
    )
    trail = await client.get(
        "/audit-trail", params={"record": f"room-{ROOM}"}, headers=as_user("u-em-aud", "auditor")
    )
    assert trail.status_code == 200, trail.text
    changes = [ch for e in trail.json()["entries"] for ch in e.get("changes", [])]
    assert [(ch["old"], ch["new"]) for ch in changes] == [(1, 8), (8, 4), (4, 9)]


@pytest.mark.requirement("EU-Annex1.9")
async def test_an_alert_trend_is_flagged_in_the_results_and_the_room_trend(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await register_room(client)
    # five plates over five days, read later and out of order: alerts on days 1 and 4
    values = {1: 3, 2: 0, 3: 1, 4: 4, 5: 0}
    for day in (5, 4, 2, 3, 1):
        await recorded(client, ago(harness, days=10 - day), values[day], f"SP-D{day}")
    listed = (await client.get("/environment/results", params={"room": ROOM})).json()
    assert [(r["sample_id"], r["level"], r["alert_trend"]) for r in listed] == [
        ("SP-D1", "alert", False),
        ("SP-D2", "within", False),
        ("SP-D3", "within", False),
        ("SP-D4", "alert", True),  # the second alert in five consecutive samples
        ("SP-D5", "within", False),
    ]
    trend = (await client.get(f"/rooms/{ROOM}/trend")).json()
    assert trend["edition"] == "EU GMP Annex 1 (2022)"
    [plates] = trend["sample_types"]
    assert (plates["sample_type"], plates["rule"]) == ("settle-plate", {"alerts": 2, "samples": 5})
    assert (plates["alerts"], plates["trending"]) == (2, True)
    assert [r["sample_id"] for r in plates["recent"]] == [f"SP-D{d}" for d in range(1, 6)]
    # a window of the results still flags the trend (it looks back before ``from``)
    since = (ago(harness, days=6, hours=12)).isoformat()
    window = (await client.get("/environment/results", params={"room": ROOM, "from": since})).json()
    assert [(r["sample_id"], r["alert_trend"]) for r in window] == [
        ("SP-D4", True),
        ("SP-D5", False),
    ]
    assert_problem(await client.get("/rooms/GRADE-Z-9/trend"), 404, "room-not-found")
