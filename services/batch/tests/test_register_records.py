"""The registers as records: their read models rebuilt exactly by a replay, an
instrument's audit trail seen by its site only, and a refused use kept once even when the
request is repeated with its Idempotency-Key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from v2v_batch.adapters.db.equipment_tables import EQUIPMENT_TABLES
from v2v_runtime.testing import ServiceHarness, as_user

from .support import OPERATOR, OPERATOR_ID, SITE, VERIFIER, assert_problem, open_batch
from .test_equipment import CENTRIFUGE, calibrate, clock, now, register, use
from .test_training import QA, SOP, approve_sop, grant, sop

AUDITOR_PARIS = as_user("u-register-paris", "auditor", sites=["SITE-PARIS-1"])
AUDITOR = as_user("u-register-auditor", "auditor", sites=[SITE])  # the instrument's site


async def snapshot(harness: ServiceHarness) -> dict[str, list[tuple[Any, ...]]]:
    async with harness.kit.uow() as uow:
        out = {}
        for table in EQUIPMENT_TABLES:
            rows = (await uow.session.execute(select(table))).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return out


@pytest.mark.requirement("21CFR11.10(c)")
async def test_a_replay_rebuilds_the_registers_read_models(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(harness, client)
    batch_id = await open_batch(harness)
    assert (await use(client, batch_id)).status_code == 201
    url = f"/equipment/{CENTRIFUGE}"
    await client.post(f"{url}/out-of-service", json={"reason": "noise"}, headers=OPERATOR)
    assert_problem(await use(client, batch_id), 422, "equipment-out-of-service")
    await client.post(f"{url}/return-to-service", json={"reason": "fixed"}, headers=VERIFIER)
    clock(harness).advance(timedelta(days=1))
    await calibrate(client, now(harness) - timedelta(hours=1), found="out-of-tolerance")
    await client.post("/sops", json=sop(1, now(harness), now(harness)), headers=QA)
    await approve_sop(harness, 1)
    at = now(harness).isoformat()
    await grant(client, kind="sop", document_id=SOP, sop_version=1, valid_from=at, reference="r")

    before = await snapshot(harness)
    assert all(before.values()), "every register table has rows"
    shown = (await client.get(url, headers=OPERATOR)).json()
    assert await harness.kit.rebuild() > 0
    assert await snapshot(harness) == before
    assert (await client.get(url, headers=OPERATOR)).json() == shown


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9")
async def test_an_instruments_audit_trail_belongs_to_its_site(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(harness, client)
    record = f"equipment-{CENTRIFUGE}"
    seen = await client.get("/audit-trail", params={"record": record}, headers=AUDITOR)
    assert seen.status_code == 200, seen.text
    assert [e["event_type"] for e in seen.json()["entries"]] == ["batch.equipment.registered"]
    elsewhere = await client.get("/audit-trail", params={"record": record}, headers=AUDITOR_PARIS)
    assert elsewhere.json()["entries"] == []


async def test_a_refused_use_repeated_with_its_key_is_kept_once(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(harness, client)
    batch_id = await open_batch(harness)
    clock(harness).advance(timedelta(days=31))
    url = f"/batches/{batch_id}/steps/selection/equipment"
    body = {"equipment_id": CENTRIFUGE}
    headers = OPERATOR | {"Idempotency-Key": "scan-1"}
    first = await client.post(url, json=body, headers=headers)
    assert_problem(first, 422, "calibration-overdue")
    again = await client.post(url, json=body, headers=headers)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    log = (await client.get(f"/equipment/{CENTRIFUGE}/usage", headers=OPERATOR)).json()
    assert [(u["refusal"]["code"], u["used_by"]["user_id"]) for u in log] == [
        ("calibration-overdue", OPERATOR_ID)
    ]
