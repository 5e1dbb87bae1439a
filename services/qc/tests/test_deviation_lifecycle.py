"""One deviation through its whole lifecycle over HTTP, each QA decision signed (428 with the
content, then signed): triage (reportable), containment, investigation, CAPA plan, its
actions, the regulatory report, closure, the effectiveness check; what the views, the audit
trail and the public events show; a CAPA found not effective and its follow-up; the holds
seam; a rebuild."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from v2v_events.contracts.qc import CapaPlanApproved, DeviationOpened, DeviationStateChanged
from v2v_qc.application.ports import ContainmentHolds
from v2v_qc.domain.common import Who
from v2v_qc.domain.deviation_events import AffectedItem
from v2v_runtime.testing import ServiceHarness, signed

from .lifecycle import (
    AUDITOR,
    CHECK_DUE,
    SUPERVISOR,
    approve,
    contain,
    done,
    implemented,
    investigate,
    ok,
    opened_on_lot,
    plan,
    triage,
)
from .support import COI, QA, QA_2, READER, build_harness, problem, review_trail

RELEASE = {"decision": "release", "reason": "record, results and deviations reviewed"}


@pytest.mark.requirement(
    "EU-PartIV.11.4", "21CFR11.50(a)", "21CFR11.70", "21CFR11.10(e)", "EU-Annex11.9"
)
async def test_a_deviation_walks_its_whole_lifecycle_to_the_effectiveness_check(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    url = await opened_on_lot(harness, client, "major")
    view = ok(await client.get(url))
    assert (view["state"], view["allowed_next"]) == ("opened", ["classification"])
    assert view["closure_due"] == "2026-12-22"  # by the proposed class until triage

    # triage: QA classifies it and flags it reportable, signed
    body = {
        "classification": "major",
        "rationale": "product temperature unknown for 20 min",
        "reportable": True,
        "reportable_reason": "a distributed lot may be affected (21 CFR 600.14)",
    }
    shown = problem(await client.post(f"{url}/classification", json=body, headers=QA), 428)
    assert shown["content"]["meaning"] == "approved"
    assert shown["content"]["values"]["reportable"] is True
    assert "reportable to the authority" in shown["content"]["statement"]
    view = ok(await signed(client, f"{url}/classification", body, QA))
    assert (view["state"], view["reportable"]) == ("triaged", True)
    assert (view["closure_due"], view["report_due"]) == ("2026-12-22", "2027-01-08")
    assert view["allowed_next"] == ["containment", "classification"]

    # containment and investigation: the manufacturing supervisor
    view = await contain(client, url)
    assert view["state"] == "contained"
    assert view["containment"]["affected"] == [
        {"kind": "unit", "id": "bag-1"},
        {"kind": "lot", "id": "lot-1"},
    ]
    assert view["containment"]["recorded_by"] == {
        "user_id": "u-sup",
        "role": "manufacturing-supervisor",
    }
    view = await investigate(client, url)
    assert view["state"] == "investigated"
    assert view["investigation"]["root_cause_category"] == "equipment"
    assert set(view["allowed_next"]) == {"capa-plan", "close", "classification"}

    # the CAPA plan, approved by QA: the signer sees every action
    shown = problem(await client.post(f"{url}/capa-plan", json=plan(), headers=QA), 428)
    assert [a["owner"] for a in shown["content"]["values"]["actions"]] == ["u-sup", "u-qa"]
    view = await approve(client, url)
    assert (view["state"], view["effectiveness_check_due"]) == ("capa-approved", CHECK_DUE)
    assert [(a["action_id"], a["owner"], a["done"]) for a in view["capa"]["actions"]] == [
        ("A1", "u-sup", False),
        ("A2", "u-qa", False),
    ]
    [approved] = await harness.published(CapaPlanApproved)
    assert [(a.action_id, a.owner, a.kind.value) for a in approved.actions] == [
        ("A1", "u-sup", "corrective"),
        ("A2", "u-qa", "preventive"),
    ]
    assert (approved.coi, approved.lot_ids) == (COI, ["lot-1"])

    # open and major: the lot waits
    assert (await review_trail(client)).status_code == 201
    problem(await signed(client, "/lots/lot-1/decision", RELEASE, QA), 409, "open-deviation")

    # each action done by its owner; the last one implements the deviation
    view = await done(client, url, "A1", SUPERVISOR)
    assert (view["state"], view["capa"]["actions"][0]["evidence"]) == (
        "capa-approved",
        "work order WO-A1",
    )
    view = await done(client, url, "A2", QA)
    assert view["state"] == "implemented"
    assert view["capa"]["actions"][1]["done_by"] == {"user_id": "u-qa", "role": "qa-reviewer"}

    # the regulatory report as submitted, signed
    report = {"reference": "BPDR-2026-0042", "submitted_on": "2026-11-24"}
    view = ok(await signed(client, f"{url}/regulatory-report", report, QA))
    assert view["report"]["reference"] == "BPDR-2026-0042"

    # closure by another QA reviewer: the lot is free
    closing = {"reason": "sensor replaced, rounds extended"}
    shown = problem(await client.post(f"{url}/close", json=closing, headers=QA_2), 428)
    assert shown["content"]["statement"].endswith("its CAPA implemented.")
    view = ok(await signed(client, f"{url}/close", closing, QA_2))
    assert (view["state"], view["allowed_next"]) == ("closed", ["effectiveness-check"])
    assert (await review_trail(client)).status_code == 201
    assert (await signed(client, "/lots/lot-1/decision", RELEASE, QA)).status_code == 201

    # the effectiveness check, signed
    check = {"result": "effective", "narrative": "no level alarm in three months"}
    view = ok(await signed(client, f"{url}/effectiveness-check", check, QA))
    assert (view["state"], view["allowed_next"]) == ("effective", [])
    assert view["effectiveness"]["checked_by"]["user_id"] == "u-qa"

    # the timeline, and every QA decision signed (approved) by who made it
    assert [(t["previous_state"], t["state"], t["by"]["user_id"]) for t in view["timeline"]] == [
        (None, "opened", "u-analyst"),
        ("opened", "triaged", "u-qa"),
        ("triaged", "contained", "u-sup"),
        ("contained", "investigated", "u-sup"),
        ("investigated", "capa-approved", "u-qa"),
        ("capa-approved", "implemented", "u-qa"),
        ("implemented", "closed", "u-qa-2"),
        ("closed", "effective", "u-qa"),
    ]
    assert [(s["meaning"], s["signer_id"]) for s in view["signatures"]] == [
        ("approved", "u-qa"),  # triage
        ("approved", "u-qa"),  # CAPA plan
        ("approved", "u-qa"),  # report
        ("approved", "u-qa-2"),  # closure
        ("approved", "u-qa"),  # effectiveness check
    ]
    assert ok(await client.get(url)) == view
    [listed] = (await client.get("/deviations", params={"lot_id": "lot-1"})).json()
    assert listed == view

    # integrators hear every move
    moves = await harness.published(DeviationStateChanged)
    assert [(m.previous_state.value, m.state.value) for m in moves] == [
        ("opened", "triaged"),
        ("triaged", "contained"),
        ("contained", "investigated"),
        ("investigated", "capa-approved"),
        ("capa-approved", "implemented"),
        ("implemented", "closed"),
        ("closed", "effective"),
    ]
    closure = moves[5]
    assert (closure.actor.user_id, closure.note, closure.reportable) == (
        "u-qa-2",
        "sensor replaced, rounds extended",
        True,
    )
    assert (
        str(closure.effectiveness_check_due) == CHECK_DUE
        and closure.opened_by.user_id == "u-analyst"
    )

    # the audit trail: each move as old -> new state
    params = {"coi": COI, "type": "deviation.contained"}
    [entry] = (await client.get("/audit-trail", params=params, headers=AUDITOR)).json()["entries"]
    assert entry["changes"] == [{"field": "state", "old": "triaged", "new": "contained"}]
    params["type"] = "deviation.capa-action-done"
    entries = (await client.get("/audit-trail", params=params, headers=AUDITOR)).json()["entries"]
    assert [e["changes"] for e in entries] == [
        [{"field": "capa action A1", "old": "open", "new": "done"}],
        [{"field": "capa action A2", "old": "open", "new": "done"}],
    ]


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_a_deviation_closed_without_capa_after_its_investigation(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    url = await opened_on_lot(harness, client, "minor")
    await triage(client, url, "minor")
    await contain(client, url)
    await investigate(client, url)
    problem(await client.post(f"{url}/close", json={"reason": "x"}, headers=QA), 422)
    closing = {"reason": "no impact", "no_capa_justification": "isolated sensor fault, replaced"}
    shown = problem(await client.post(f"{url}/close", json=closing, headers=QA_2), 428)
    assert shown["content"]["statement"].endswith("no CAPA needed.")
    view = ok(await signed(client, f"{url}/close", closing, QA_2))
    assert (view["state"], view["allowed_next"], view["capa"]) == ("closed", [], None)
    assert view["no_capa_justification"] == "isolated sensor fault, replaced"
    check = {"result": "effective", "narrative": "x"}
    r = await client.post(f"{url}/effectiveness-check", json=check, headers=QA)
    assert problem(r, 409, "deviation-out-of-order")["allowed_next"] == []


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_a_capa_found_not_effective_opens_a_follow_up_that_holds_the_lot(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    url = await opened_on_lot(harness, client, "major")
    await implemented(client, url)
    closing = {"reason": "CAPA implemented"}
    ok(await signed(client, f"{url}/close", closing, QA_2))
    check = {"result": "not-effective", "narrative": "the level alarm recurred twice"}
    view = ok(await signed(client, f"{url}/effectiveness-check", check, QA))
    assert view["state"] == "not-effective"
    follow_up = view["effectiveness"]["follow_up_deviation_id"]
    later = ok(await client.get(f"/deviations/{follow_up}"))
    assert (later["state"], later["source"], later["follows_deviation_id"]) == (
        "opened",
        "capa-not-effective",
        view["deviation_id"],
    )
    assert (later["lot_id"], later["proposed_classification"]) == ("lot-1", "major")
    assert later["opened_by"]["user_id"] == "u-qa"  # who found it not effective
    assert "the level alarm recurred twice" in later["description"]
    assert [d.deviation_id for d in await harness.published(DeviationOpened)][-1] == follow_up
    # a new major deviation on the lot: its release waits again
    assert (await review_trail(client)).status_code == 201
    r = await signed(client, "/lots/lot-1/decision", RELEASE, QA)
    assert problem(r, 409, "open-deviation")["deviation_ids"] == [follow_up]
    # who opened the follow-up does not triage it
    r = await signed(
        client,
        f"/deviations/{follow_up}/classification",
        {"classification": "major", "rationale": "recurrence"},
        QA,
    )
    problem(r, 403, "classification-by-author")


class RecordingHolds:
    calls: list[tuple[str, list[AffectedItem], str]] = []

    def __init__(self, session: object) -> None:
        pass

    async def place(
        self, deviation_id: str, items: Sequence[AffectedItem], by: Who, at: datetime
    ) -> None:
        self.calls.append((deviation_id, list(items), by.user_id))


@pytest.fixture
async def holding(tmp_path: Path) -> AsyncIterator[ServiceHarness]:
    """The service with another adapter of the holds port (as the hold contract will be)."""
    spec = build_harness(tmp_path).kit.spec
    assert spec.persistence is not None  # PERSISTENCE with the site's notification routing
    ports = {**spec.persistence.ports, ContainmentHolds: RecordingHolds}
    persistence = dataclasses.replace(spec.persistence, ports=ports)
    held = ServiceHarness(dataclasses.replace(spec, persistence=persistence), headers=READER)
    await held.start()
    yield held
    await held.close()


async def test_the_containment_asks_the_holds_port_for_its_items(
    holding: ServiceHarness,
) -> None:
    RecordingHolds.calls.clear()
    async with holding.client() as client:
        url = await opened_on_lot(holding, client, "major")
        await triage(client, url)
        await contain(client, url)
    [(deviation_id, items, by)] = RecordingHolds.calls
    assert url.endswith(deviation_id) and by == "u-sup"
    assert [(i.kind.value, i.id) for i in items] == [("unit", "bag-1"), ("lot", "lot-1")]


async def test_a_rebuild_gives_the_same_deviation(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    url = await opened_on_lot(harness, client, "major")
    await implemented(client, url)
    ok(await signed(client, f"{url}/close", {"reason": "CAPA implemented"}, QA_2))
    before: dict[str, Any] = ok(await client.get(url))
    await harness.kit.rebuild()
    assert ok(await client.get(url)) == before
    assert len(before["timeline"]) == 7
