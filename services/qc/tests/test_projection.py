"""Read models are a projection of the event store: rebuilt by replay, identical; and the
migration creates exactly the tables the projector writes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, select, update

from v2v_qc.adapters.db.tables import metadata, panels
from v2v_qc.bootstrap import PERSISTENCE
from v2v_runtime.db.tables import events
from v2v_runtime.testing import ServiceHarness, signed

from .support import (
    ANALYST,
    COI,
    QA,
    REVIEWER,
    investigated,
    no_capa,
    order_panel,
    post_all,
    post_result,
    release_holds,
    review_trail,
)


async def snapshot(c: httpx.AsyncClient, certificate_id: str) -> dict[str, Any]:
    return {
        "panels": (await c.get("/panels", params={"coi": COI})).json(),
        "deviations": (await c.get("/deviations", params={"coi": COI})).json(),
        "certificate": (await c.get(f"/certificates/{certificate_id}")).json(),
    }


@pytest.mark.requirement("21CFR11.10(c)")
async def test_read_models_rebuild_by_replay(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    # Lot 1: a correction, a manual deviation opened and closed, released.
    good = await order_panel(harness, "lot-1")
    await post_result(client, good, "viability", 65)
    await post_result(
        client, good, "viability", 80, correction_reason="typo", reason_code="entry-error"
    )
    await post_all(client, good, skip=("viability",), reviewed=False)
    dev = await client.post(
        "/deviations",
        json={
            "coi": COI,
            "lot_id": "lot-1",
            "classification": "major",
            "source": "temperature-excursion",
            "description": "d",
        },
        headers=ANALYST,
    )
    deviation = f"/deviations/{dev.json()['deviation_id']}"
    await investigated(client, deviation, "minor")
    assert (await signed(client, f"{deviation}/close", no_capa("ok"), QA)).status_code == 200
    await release_holds(client, dev.json()["deviation_id"])
    review = await signed(client, f"/panels/{good}/review", {"comment": "checked"}, REVIEWER)
    assert review.status_code == 201, review.text
    assert (await review_trail(client)).status_code == 201
    release = await signed(
        client, "/lots/lot-1/decision", {"decision": "release", "reason": "ok"}, QA
    )
    # Lot 2: out of specification (OOS deviation), rejected.
    bad = await order_panel(harness, "lot-2", attempt=2)
    await post_all(client, bad, {"vcn": 6.2})
    await signed(client, "/lots/lot-2/decision", {"decision": "reject", "reason": "VCN"}, QA)
    before = await snapshot(client, release.json()["certificate_id"])
    assert len(before["panels"]) == 2 and len(before["deviations"]) == 2

    # Damage the read models, then rebuild them from the event store.
    async with harness.kit.uow() as uow:
        await uow.session.execute(update(panels).values(status="garbage"))
    replayed = await harness.kit.rebuild()
    assert replayed > 20
    assert await snapshot(client, release.json()["certificate_id"]) == before

    # A second rebuild (tables emptied first) gives the same again.
    assert await harness.kit.rebuild() == replayed
    assert await snapshot(client, release.json()["certificate_id"]) == before


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9", "EU-Annex11.12.4", "EU-PartIV.6.1")
async def test_every_stored_event_carries_its_actor(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id, {"potency": 100})
    async with harness.kit.sessions() as s:
        rows = (await s.execute(select(events.c.event_type, events.c.actor))).all()
    actors = {(r.event_type, r.actor["user_id"]) for r in rows}
    assert ("qc.panel.ordered", "journey-worker") in actors
    assert ("qc.lot.registered", "u-operator") in actors
    assert ("qc.result.recorded", "u-analyst") in actors
    assert ("qc.result.recorded", "qc-dose-calculator") in actors
    assert ("qc.panel.evaluated", "qc-evaluator") in actors
    assert ("qc.deviation.opened", "qc-evaluator") in actors
    assert all(r.actor.get("role") for r in rows)


async def test_migration_creates_the_projected_tables(harness: ServiceHarness) -> None:
    def columns(conn: Any) -> dict[str, set[str]]:
        insp = inspect(conn)
        return {
            t: {c["name"] for c in insp.get_columns(t)}
            for t in insp.get_table_names()
            if t.startswith("qc_")
        }

    async with harness.kit.engine.connect() as conn:
        migrated = await conn.run_sync(columns)
    declared = {t.name: {c.name for c in t.columns} for t in metadata.tables.values()}
    assert migrated == declared
    # every table is a read model but the trail heads other services report (not QC's store)
    assert {t.name for t in PERSISTENCE.read_tables} == set(declared) - {"qc_trail_heads"}
