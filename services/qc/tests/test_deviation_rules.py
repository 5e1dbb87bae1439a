"""The deviation lifecycle's refusals over HTTP — out of order (409 before anyone signs,
naming the state and what may come next), the wrong role and the person who raised it
(403), a CAPA plan without owner or due date or due in the past (422 naming the field) —
and the overdue view with its clocks: closure targets in working days by class, the report
in calendar days, CAPA actions and effectiveness checks past due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from v2v_runtime.testing import ServiceHarness, StepClock, as_user, signed

from .lifecycle import (
    ACTION_DUE,
    SPECIALIST,
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
from .support import ANALYST, QA, QA_2, problem

PARIS = as_user("u-qa-paris", "qa-reviewer", sites=["SITE-PARIS-1"])


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_acts_out_of_order_are_refused_before_anyone_signs(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    url = await opened_on_lot(harness, client)
    body = {"actions": "x", "affected": []}
    r = await client.post(f"{url}/containment", json=body, headers=SUPERVISOR)
    refused = problem(r, 409, "deviation-out-of-order")
    assert (refused["state"], refused["act"], refused["allowed_next"]) == (
        "opened",
        "containment",
        ["classification"],
    )
    assert "opened" in refused["detail"] and "next: classification" in refused["detail"]
    await triage(client, url)
    # the signed acts answer 409, not 428: nothing is shown for signing
    r = await client.post(f"{url}/capa-plan", json=plan(), headers=QA)
    assert problem(r, 409, "deviation-out-of-order")["allowed_next"] == [
        "containment",
        "classification",
    ]
    r = await client.post(f"{url}/close", json={"reason": "x", "no_capa_justification": "y"})
    problem(r, 403, "role-not-allowed")  # a QC reviewer may not close (the route's roles)
    r = await client.post(
        f"{url}/close", json={"reason": "x", "no_capa_justification": "y"}, headers=QA
    )
    problem(r, 409, "deviation-out-of-order")
    r = await client.post(f"{url}/capa-actions/A1/done", json={"evidence": "x"}, headers=QA)
    problem(r, 409, "deviation-out-of-order")
    await contain(client, url)
    problem(await client.post(f"{url}/containment", json=body, headers=SUPERVISOR), 409)
    view = ok(await client.get(url))
    assert (view["state"], len(view["timeline"])) == ("contained", 3)  # nothing half-applied


@pytest.mark.requirement("21CFR11.10(g)", "EU-PartIV.11.4")
async def test_the_wrong_role_and_who_raised_it_are_refused(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    url = await opened_on_lot(harness, client, by=QA)  # QA raised it
    r = await signed(
        client, f"{url}/classification", {"classification": "major", "rationale": "x"}, QA
    )
    problem(r, 403, "classification-by-author")
    await triage(client, url, headers=QA_2)
    body = {"actions": "x", "affected": []}
    problem(
        await client.post(f"{url}/containment", json=body, headers=ANALYST), 403, "role-not-allowed"
    )
    problem(await client.post(f"{url}/containment", json=body, headers=SPECIALIST), 403)
    await contain(client, url, headers=QA)  # the opener records containment and investigation
    await investigate(client, url, headers=QA)
    problem(await signed(client, f"{url}/capa-plan", plan(), SUPERVISOR), 403, "role-not-allowed")
    problem(await signed(client, f"{url}/capa-plan", plan(), QA), 403, "capa-approval-by-author")
    # the opener signing on another reviewer's session is still the opener
    r = await signed(client, f"{url}/capa-plan", plan(), QA_2, signer="u-qa")
    problem(r, 403, "capa-approval-by-author")
    view = await approve(client, url, headers=QA_2)
    assert view["capa"]["approved_by"]["user_id"] == "u-qa-2"
    # A1 is the supervisor's: a specialist may not mark it done; its owner or QA may
    r = await client.post(f"{url}/capa-actions/A1/done", json={"evidence": "x"}, headers=SPECIALIST)
    assert problem(r, 403, "not-action-owner")["owner"] == "u-sup"
    r = await client.post(f"{url}/capa-actions/A9/done", json={"evidence": "x"}, headers=QA)
    problem(r, 404, "capa-action-not-found")
    await done(client, url, "A1", SUPERVISOR)
    r = await client.post(f"{url}/capa-actions/A1/done", json={"evidence": "x"}, headers=QA)
    problem(r, 409, "capa-action-already-done")
    await done(client, url, "A2", QA)  # the opener owns A2: theirs to do
    problem(await signed(client, f"{url}/close", {"reason": "done"}, QA), 403, "closure-by-author")
    ok(await signed(client, f"{url}/close", {"reason": "done"}, QA_2))
    check = {"result": "effective", "narrative": "no recurrence"}
    r = await signed(client, f"{url}/effectiveness-check", check, QA)
    problem(r, 403, "effectiveness-check-by-author")
    r = await signed(client, f"{url}/effectiveness-check", check, QA_2, signer="u-analyst")
    problem(r, 403, "signer-not-allowed")
    assert (
        ok(await signed(client, f"{url}/effectiveness-check", check, QA_2))["state"] == "effective"
    )


@pytest.mark.requirement("EU-PartIV.11.4")
@pytest.mark.parametrize("missing", ["owner", "due_date"])
async def test_a_capa_action_without_owner_or_due_date_is_refused_naming_it(
    harness: ServiceHarness, client: httpx.AsyncClient, missing: str
) -> None:
    url = await opened_on_lot(harness, client)
    await triage(client, url)
    await contain(client, url)
    await investigate(client, url)
    body = plan()
    del body["actions"][1][missing]
    refused = problem(
        await client.post(f"{url}/capa-plan", json=body, headers=QA), 422, "validation"
    )
    assert [e["loc"] for e in refused["errors"]] == [["body", "actions", 1, missing]]
    assert ok(await client.get(url))["state"] == "investigated"


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_due_dates_in_the_past_and_unknown_causes_are_refused_naming_the_field(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    url = await opened_on_lot(harness, client)
    await triage(client, url)
    await contain(client, url)
    body = {"root_cause_category": "gremlins", "narrative": "x"}
    r = await client.post(f"{url}/investigation", json=body, headers=SUPERVISOR)
    refused = problem(r, 422, "unknown-root-cause-category")
    assert refused["field"] == "root_cause_category" and "equipment" in refused["allowed"]
    await investigate(client, url)
    # refused before the content is shown for signing
    r = await client.post(f"{url}/capa-plan", json=plan(due="2026-11-23"), headers=QA)
    assert problem(r, 422, "due-date-in-past")["field"] == "actions[0].due_date"
    r = await client.post(f"{url}/capa-plan", json=plan(check_due="2026-12-01"), headers=QA)
    assert problem(r, 422, "effectiveness-check-before-actions")["field"] == (
        "effectiveness_check_due"
    )
    view = await approve(client, url, check_due=None)
    assert view["effectiveness_check_due"] is None
    await done(client, url, "A1", SUPERVISOR)
    await done(client, url, "A2", QA)
    r = await client.post(f"{url}/close", json={"reason": "done"}, headers=QA)
    assert problem(r, 422, "effectiveness-check-due-required")["field"] == "effectiveness_check_due"
    closing = {"reason": "done", "effectiveness_check_due": "2027-02-01"}
    assert ok(await signed(client, f"{url}/close", closing, QA))["effectiveness_check_due"] == (
        "2027-02-01"
    )


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_the_regulatory_report_of_a_reportable_deviation_only_once(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    url = await opened_on_lot(harness, client)
    report = {"reference": "BPDR-1", "submitted_on": "2026-11-24"}
    await triage(client, url)
    problem(
        await signed(client, f"{url}/regulatory-report", report, QA),
        409,
        "deviation-not-reportable",
    )
    r = await signed(
        client,
        f"{url}/classification",
        {"classification": "major", "rationale": "x", "reportable": True},
        QA,
    )
    assert problem(r, 422, "reportable-reason-required")["field"] == "reportable_reason"
    await triage(client, url, reportable=True, reportable_reason="distributed lot")
    future = {**report, "submitted_on": "2026-11-25"}
    r = await client.post(f"{url}/regulatory-report", json=future, headers=QA)
    assert problem(r, 422, "submitted-in-future")["field"] == "submitted_on"
    ok(await signed(client, f"{url}/regulatory-report", report, QA))
    r = await client.post(f"{url}/regulatory-report", json=report, headers=QA)
    problem(r, 409, "report-already-recorded")


def clock(harness: ServiceHarness) -> StepClock:
    found = harness.kit.clock
    assert isinstance(found, StepClock)
    return found


async def overdue(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> Any:
    r = await client.get("/deviations/overdue", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_the_overdue_view_says_why_and_by_how_much(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    # lot-1: untriaged, proposed minor (30 working days: 2027-01-05)
    untriaged = await opened_on_lot(harness, client, "minor", lot_id="lot-1")
    # lot-2: triaged critical (15 working days: 2026-12-15) and reportable (2027-01-08)
    reportable = await opened_on_lot(harness, client, "major", lot_id="lot-2")
    await triage(client, reportable, "critical", reportable=True, reportable_reason="distributed")
    # lot-3: CAPA under way, one action done, the other due 2026-12-15
    capa = await opened_on_lot(harness, client, "major", lot_id="lot-3")
    await triage(client, capa)
    await contain(client, capa)
    await investigate(client, capa)
    await approve(client, capa)
    await done(client, capa, "A1", SUPERVISOR)
    # lot-4: closed, its effectiveness check due 2027-01-04
    checked = await opened_on_lot(harness, client, "major", lot_id="lot-4")
    await implemented(client, checked)
    closing = {"reason": "done", "effectiveness_check_due": "2027-01-04"}
    ok(await signed(client, f"{checked}/close", closing, QA_2))
    assert (await overdue(client)) == {"as_of": "2026-11-24", "items": []}

    clock(harness).advance(timedelta(days=45))  # 2027-01-08: a Friday
    found = await overdue(client)
    assert found["as_of"] == "2027-01-08"
    items = {(i["deviation_id"], i["reason"], i["action_id"]): i for i in found["items"]}
    ids = {u: u.rsplit("/", 1)[1] for u in (untriaged, reportable, capa, checked)}
    assert set(items) == {
        (ids[untriaged], "closure-target", None),
        (ids[reportable], "closure-target", None),
        (ids[capa], "closure-target", None),
        (ids[capa], "capa-action", "A2"),
        (ids[checked], "effectiveness-check", None),
    }
    critical = items[(ids[reportable], "closure-target", None)]
    assert (critical["due"], critical["days_overdue"], critical["working_days_overdue"]) == (
        "2026-12-15",
        24,
        18,
    )
    assert critical["classification"] == "critical" and "15 working days" in critical["detail"]
    late_action = items[(ids[capa], "capa-action", "A2")]
    assert (late_action["owner"], late_action["due"], late_action["days_overdue"]) == (
        "u-qa",
        ACTION_DUE,
        24,
    )
    minor = items[(ids[untriaged], "closure-target", None)]
    assert (minor["due"], minor["days_overdue"], minor["working_days_overdue"]) == (
        "2027-01-05",
        3,
        3,
    )
    assert items[(ids[checked], "effectiveness-check", None)]["days_overdue"] == 4
    # most overdue first
    assert [i["days_overdue"] for i in found["items"]] == sorted(
        (i["days_overdue"] for i in found["items"]), reverse=True
    )

    # the report is due 45 calendar days after discovery: late from the next day on
    clock(harness).advance(timedelta(days=1))
    late = [i for i in (await overdue(client))["items"] if i["reason"] == "report"]
    assert [(i["deviation_id"], i["due"], i["days_overdue"]) for i in late] == [
        (ids[reportable], "2027-01-08", 1)
    ]
    # recorded, it is no longer overdue
    report = {"reference": "BPDR-2027-0003", "submitted_on": "2027-01-09"}
    ok(await signed(client, f"{reportable}/regulatory-report", report, QA))
    assert all(i["reason"] != "report" for i in (await overdue(client))["items"])
    # another site's QA sees none of these
    assert (await overdue(client, PARIS))["items"] == []


async def test_the_deviation_policy_in_force_is_shown(client: httpx.AsyncClient) -> None:
    policy = (await client.get("/deviation-policy")).json()
    assert policy["closure_working_days"] == {"critical": 15, "major": 20, "minor": 30}
    assert (policy["report_calendar_days"], policy["time_zone"]) == (45, "UTC")
    assert "unknown" in policy["root_cause_categories"]
