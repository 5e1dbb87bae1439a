"""The people and steps of a deviation's lifecycle over HTTP, for the service tests: each
signed act as a person does it (428 with the content, then signed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from v2v_runtime.testing import ServiceHarness, as_user, signed

from .support import ANALYST, COI, QA, order_panel, post_all

SUPERVISOR = as_user("u-sup", "manufacturing-supervisor", name="Sam Supervisor")
SPECIALIST = as_user("u-cts", "cell-therapy-specialist")
AUDITOR = as_user("u-auditor", "auditor")
ACTION_DUE = "2026-12-15"  # the harness's clock starts on 2026-11-24
CHECK_DUE = "2027-03-01"


async def opened_on_lot(
    harness: ServiceHarness,
    client: httpx.AsyncClient,
    proposed: str = "major",
    by: Mapping[str, str] = ANALYST,
    lot_id: str = "lot-1",
) -> str:
    """An evaluated, in-specification lot with a deviation opened on it; its URL."""
    panel_id = await order_panel(harness, lot_id)
    await post_all(client, panel_id)
    body = {
        "coi": COI,
        "lot_id": lot_id,
        "classification": proposed,
        "source": "temperature-excursion",
        "description": "dewar above -150 C for 20 min",
    }
    r = await client.post("/deviations", json=body, headers=dict(by))
    assert r.status_code == 201, r.text
    return f"/deviations/{r.json()['deviation_id']}"


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def triage(
    client: httpx.AsyncClient,
    url: str,
    kind: str = "major",
    headers: Mapping[str, str] = QA,
    **extra: Any,
) -> dict[str, Any]:
    body = {"classification": kind, "rationale": "product temperature unknown", **extra}
    return ok(await signed(client, f"{url}/classification", body, dict(headers)))


async def contain(
    client: httpx.AsyncClient, url: str, headers: Mapping[str, str] = SUPERVISOR
) -> dict[str, Any]:
    body = {
        "actions": "dewar topped up; lot quarantined in LN2-02",
        "affected": [{"kind": "unit", "id": "bag-1"}],
    }
    return ok(await client.post(f"{url}/containment", json=body, headers=dict(headers)))


async def investigate(
    client: httpx.AsyncClient, url: str, headers: Mapping[str, str] = SUPERVISOR
) -> dict[str, Any]:
    body = {"root_cause_category": "equipment", "narrative": "LN2 level sensor drifted"}
    return ok(await client.post(f"{url}/investigation", json=body, headers=dict(headers)))


def plan(check_due: str | None = CHECK_DUE, due: str = ACTION_DUE) -> dict[str, Any]:
    body: dict[str, Any] = {
        "actions": [
            {
                "description": "replace the level sensor of LN2-02",
                "owner": "u-sup",
                "due_date": due,
                "kind": "corrective",
            },
            {
                "description": "add a sensor check to the weekly freezer round",
                "owner": "u-qa",
                "due_date": due,
                "kind": "preventive",
            },
        ]
    }
    if check_due is not None:
        body["effectiveness_check_due"] = check_due
    return body


async def approve(
    client: httpx.AsyncClient, url: str, headers: Mapping[str, str] = QA, **over: Any
) -> dict[str, Any]:
    return ok(await signed(client, f"{url}/capa-plan", plan(**over), dict(headers)))


async def done(
    client: httpx.AsyncClient, url: str, action_id: str, headers: Mapping[str, str]
) -> dict[str, Any]:
    path = f"{url}/capa-actions/{action_id}/done"
    body = {"evidence": f"work order WO-{action_id}"}
    return ok(await client.post(path, json=body, headers=dict(headers)))


async def implemented(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """Triaged (QA) to implemented: contained, investigated, CAPA approved, both done."""
    await triage(client, url)
    await contain(client, url)
    await investigate(client, url)
    await approve(client, url)
    await done(client, url, "A1", SUPERVISOR)
    return await done(client, url, "A2", QA)
