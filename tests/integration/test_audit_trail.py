"""The audit trail on the real Keycloak's demo users of two sites: who acted with the printed
name their token carried, identity redacted for the inspector and shown (the read recorded)
to the patient's coordinator, another site's people seeing none of it; QC's trail scoped to
the lots' manufacturing sites. In-process services over ASGI (access_world); the filters on
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from v2v_cli.tokens import TokenBroker
from v2v_custody.bootstrap import build as build_custody
from v2v_custody.domain.identity import identity_stream
from v2v_custody.settings import CustodySettings
from v2v_runtime.testing import ServiceHarness, as_user

from .access_world import World, open_world
from .test_access_scoping import (
    COORDINATOR,
    QA,
    enrolled,
    enrolment,
    identity_reads,
    lot_with_panel,
    ok,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, oidc_issuer: str, tokens: TokenBroker
) -> AsyncIterator[World]:
    async with open_world(tmp_path_factory.mktemp("trail"), oidc_issuer, tokens) as w:
        yield w


async def entries(world: World, service: str, who: str, **params: Any) -> list[Any]:
    body = ok(await world.get(service, "/audit-trail", who, **params))
    assert body["verification"]["status"] == "ok", body["verification"]
    found: list[Any] = body["entries"]
    return found


@pytest.mark.requirement("21CFR11.10(b)", "21CFR11.10(e)", "21CFR11.10(g)", "EU-Annex11.9")
async def test_custody_trail_for_inspectors_coordinators_and_other_sites(world: World) -> None:
    coi = await enrolled(world, 1, "MRN-TRAIL-1")
    correction = {
        "name": "Trail Testperson",
        "reason_code": "identity-verified",
        "reason": "checked against the passport",
    }
    r = await world.post(
        "custody", f"/patients/{coi}/identity-corrections", correction, COORDINATOR[1]
    )
    ok(r)
    coordinator = await world.broker.subject(COORDINATOR[1])

    inspected = await entries(world, "custody", "auditor", coi=coi)
    corrected = next(e for e in inspected if e["event_type"] == "custody.identity.corrected")
    assert (corrected["user_id"], corrected["role"]) == (
        coordinator,
        "treatment-center-coordinator",
    )
    assert corrected["user_name"]  # the printed name the coordinator's token carried
    assert (corrected["reason_code"], corrected["reason"]) == ("identity-verified", "[identity]")
    assert corrected["changes"] == [{"field": "name", "old": "[identity]", "new": "[identity]"}]
    r = await world.get("custody", "/audit-trail", "auditor", coi=coi, format="csv")
    rows = list(csv.DictReader(io.StringIO(r.text, newline="")))
    assert {row["record"] for row in rows} == {coi, identity_stream(coi)}
    assert "MRN-TRAIL-1" not in r.text and "Trail Testperson" not in r.text
    assert await identity_reads(world, coi) == []  # the inspector was shown no identity

    shown = await entries(world, "custody", COORDINATOR[1], coi=coi)
    corrected = next(e for e in shown if e["event_type"] == "custody.identity.corrected")
    assert corrected["changes"][0]["new"] == "Trail Testperson"
    assert await identity_reads(world, coi) == [coordinator]

    assert await entries(world, "custody", COORDINATOR[2], coi=coi) == []
    assert coi not in {e["coi"] for e in await entries(world, "custody", COORDINATOR[2])}


@pytest.mark.requirement("21CFR11.10(g)")
async def test_qc_trail_follows_the_lots_sites(world: World) -> None:
    one, two = await enrolled(world, 1, "MRN-TRAIL-Q1"), await enrolled(world, 2, "MRN-TRAIL-Q2")
    panel_one = await lot_with_panel(world, 1, one, "lot-trail-1")
    panel_two = await lot_with_panel(world, 2, two, "lot-trail-2")
    for site, coi, panel, other in ((1, one, panel_one, two), (2, two, panel_two, one)):
        mine = await entries(world, "qc", QA[site], coi=coi)
        assert {e["record"] for e in mine} == {panel, f"qc-lot:lot-trail-{site}"}
        assert await entries(world, "qc", QA[site], coi=other) == []
    everything = {e["coi"] for e in await entries(world, "qc", "auditor")}
    assert {one, two} <= everything


@pytest.mark.requirement("21CFR11.10(b)", "21CFR11.10(e)")
async def test_the_trail_and_its_filters_on_sqlite_and_postgresql(producer_db: str) -> None:
    """The same queries (JSON user filter, record-time range, paging, chain check) on both
    stores a service may run on."""
    harness = ServiceHarness(build_custody(CustodySettings(database_url=producer_db)))
    await harness.start()
    coordinator = as_user("u-coord-pg", "treatment-center-coordinator")
    auditor = as_user("u-aud-pg", "auditor")
    try:
        async with harness.client() as c:
            r = await c.post("/patients", json=enrolment(1, "MRN-TRAIL-PG"), headers=coordinator)
            coi = ok(r)["coi"]
            body = {"name": "Pg Testperson", "reason_code": "entry-error", "reason": "typo"}
            ok(
                await c.post(
                    f"/patients/{coi}/identity-corrections", json=body, headers=coordinator
                )
            )

            async def trail(**params: Any) -> dict[str, Any]:
                r = await c.get("/audit-trail", params=params, headers=auditor)
                found: dict[str, Any] = ok(r)
                assert found["verification"]["status"] == "ok"
                return found

            every = (await trail(coi=coi))["entries"]
            assert len(every) == 3  # enrolled, identity recorded, identity corrected
            mine = (await trail(user="u-coord-pg"))["entries"]
            assert [e["event_id"] for e in mine] == [e["event_id"] for e in every]
            assert (await trail(user="someone-else"))["entries"] == []
            [fixed] = (await trail(type="identity.corrected"))["entries"]
            assert fixed["reason_code"] == "entry-error"
            at = fixed["recorded_at"]
            assert [e["event_id"] for e in (await trail(**{"from": at, "to": at}))["entries"]] == [
                fixed["event_id"]
            ]
            first = await trail(coi=coi, limit=2)
            rest = await trail(coi=coi, after=first["next_after"])
            assert [e["event_id"] for e in first["entries"] + rest["entries"]] == [
                e["event_id"] for e in every
            ]
    finally:
        await harness.close()
