"""The equipment register through HTTP: instruments with their schedules and status, use
at a step of an open batch refused (and the refusal recorded) when out of service or past a
due time at the time of use, the usage log, and a calibration found out of tolerance
raising one deviation listing the batches used since the instrument was last in tolerance."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from v2v_batch.domain import Step
from v2v_events.contracts.equipment import EquipmentOutOfTolerance, EquipmentStatusChanged
from v2v_runtime.db.tables import events
from v2v_runtime.testing import ServiceHarness, StepClock, as_user

from .support import (
    OPERATOR,
    OPERATOR_ID,
    SITE,
    VERIFIER,
    assert_problem,
    open_batch,
    post_step,
    produce_lot,
    record_steps,
    step_body,
)

SUPERVISOR = VERIFIER  # a manufacturing supervisor keeps the register
QA = as_user("u-equipment-qa", "qa-reviewer", name="Quentin QA")
ELSEWHERE = as_user(
    "u-equipment-paris", "manufacturing-supervisor", sites=["SITE-PARIS-1"], name="Pia Paris"
)
AUDITOR = as_user("u-equipment-auditor", "auditor", name="Ada Auditor")
BERLIN = as_user("u-equipment-berlin", "manufacturing-supervisor", sites=[SITE], name="Bo Berlin")
CENTRIFUGE = "CEN-0042"


def clock(harness: ServiceHarness) -> StepClock:
    c = harness.kit.clock
    assert isinstance(c, StepClock)
    return c


def now(harness: ServiceHarness) -> datetime:
    return clock(harness).current


def instrument(harness: ServiceHarness, **overrides: Any) -> dict[str, Any]:
    at = now(harness)
    body: dict[str, Any] = {
        "equipment_id": CENTRIFUGE,
        "equipment_type": "centrifuge",
        "name": "Sorvall ST 40R",
        "site": SITE,
        "location": "grade-C room 2.14",
        "calibration": {"interval_days": 180, "due_at": (at + timedelta(days=30)).isoformat()},
        "maintenance": {"interval_days": 90, "due_at": (at + timedelta(days=60)).isoformat()},
    }
    return body | overrides


async def register(
    harness: ServiceHarness, client: httpx.AsyncClient, **overrides: Any
) -> dict[str, Any]:
    r = await client.post("/equipment", json=instrument(harness, **overrides), headers=SUPERVISOR)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def use(
    client: httpx.AsyncClient,
    batch_id: str,
    step: str = "selection",
    headers: dict[str, str] = OPERATOR,
    **body: Any,
) -> httpx.Response:
    return await client.post(
        f"/batches/{batch_id}/steps/{step}/equipment",
        json={"equipment_id": CENTRIFUGE, "equipment_type": "centrifuge"} | body,
        headers=headers,
    )


async def calibrate(
    client: httpx.AsyncClient, at: datetime, found: str = "in-tolerance", left: str | None = None
) -> httpx.Response:
    body = {
        "performed_at": at.isoformat(),
        "as_found": found,
        "as_left": left or found,
        "certificate_ref": f"CAL-{at:%Y%m%d%H%M}",
    }
    return await client.post(f"/equipment/{CENTRIFUGE}/calibrations", json=body, headers=SUPERVISOR)


async def stored_kinds(harness: ServiceHarness, stream: str) -> list[str]:
    async with harness.kit.sessions() as s:
        rows = await s.execute(
            select(events.c.event_type)
            .where(events.c.stream_id == stream)
            .order_by(events.c.version)
        )
        return [r.event_type for r in rows]


@pytest.mark.requirement("EU-PartIV.5")
async def test_an_instrument_enters_the_register_in_service_and_says_so(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    shown = await register(harness, client)
    assert shown["status"] == "in-service"
    assert shown["calibration"]["interval_days"] == 180
    assert [h["kind"] for h in shown["history"]] == ["registered"]
    assert shown["history"][0]["recorded_by"]["role"] == "manufacturing-supervisor"
    [changed] = await harness.published(EquipmentStatusChanged)
    assert (changed.status.value, changed.previous_status) == ("in-service", None)
    [(_, env)] = [o for o in await harness.outbox() if o[1].type.endswith("status-changed")]
    assert env.subject == CENTRIFUGE  # an instrument's messages are keyed by it, not a CoI

    listed = (await client.get("/equipment", headers=OPERATOR)).json()
    assert [e["equipment_id"] for e in listed] == [CENTRIFUGE]
    assert (await client.get("/equipment", headers=ELSEWHERE)).json() == []
    assert_problem(await client.get(f"/equipment/{CENTRIFUGE}", headers=ELSEWHERE), 404)
    again = await client.post("/equipment", json=instrument(harness), headers=SUPERVISOR)
    assert_problem(again, 409, "equipment-already-registered")


async def test_bad_register_entries_are_problems_naming_the_field(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    for bad in ({"equipment_id": "has spaces"}, {"equipment_type": "Centrifuge"}):
        r = await client.post("/equipment", json=instrument(harness, **bad), headers=SUPERVISOR)
        assert_problem(r, 422)
    elsewhere = instrument(harness, site="SITE-PARIS-1")
    r = await client.post("/equipment", json=elsewhere, headers=BERLIN)
    assert_problem(r, 403, "site-not-yours")
    future = instrument(harness, in_service_from=(now(harness) + timedelta(days=1)).isoformat())
    r = await client.post("/equipment", json=future, headers=SUPERVISOR)
    assert assert_problem(r, 422, "in-service-in-future")["field"] == "in_service_from"
    as_operator = await client.post("/equipment", json=instrument(harness), headers=OPERATOR)
    assert_problem(as_operator, 403, "role-not-allowed")


@pytest.mark.requirement("EU-PartIV.5", "EU-PartIV.6.4")
async def test_a_use_at_a_step_is_logged_for_the_instrument_and_the_batch(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(harness, client)
    batch_id = await open_batch(harness)
    r = await use(client, batch_id)
    assert r.status_code == 201, r.text
    shown = r.json()
    assert (shown["batch_id"], shown["step"], shown["refusal"]) == (batch_id, "selection", None)
    assert shown["used_by"]["user_id"] == OPERATOR_ID
    log = (await client.get(f"/equipment/{CENTRIFUGE}/usage", headers=OPERATOR)).json()
    assert [(u["batch_id"], u["step"]) for u in log] == [(batch_id, "selection")]
    of_batch = (await client.get(f"/batches/{batch_id}/equipment", headers=AUDITOR)).json()
    assert [u["equipment_id"] for u in of_batch] == [CENTRIFUGE]


@pytest.mark.requirement("EU-PartIV.5")
async def test_an_overdue_calibration_refuses_the_use_and_the_refusal_is_recorded(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(harness, client)
    batch_id = await open_batch(harness)
    clock(harness).advance(timedelta(days=31))  # the calibration fell due by itself
    shown = (await client.get(f"/equipment/{CENTRIFUGE}", headers=OPERATOR)).json()
    assert shown["status"] == "calibration-due"

    r = await use(client, batch_id)
    problem = assert_problem(r, 422, "calibration-overdue")
    assert problem["field"] == "equipment_id" and "overdue" in problem["detail"]
    log = (await client.get(f"/equipment/{CENTRIFUGE}/usage", headers=OPERATOR)).json()
    assert [u["refusal"]["code"] for u in log] == ["calibration-overdue"]
    assert log[0]["used_by"]["user_id"] == OPERATOR_ID
    kinds = await stored_kinds(harness, f"equipment-{CENTRIFUGE}")
    assert kinds == ["batch.equipment.registered", "batch.equipment.use-refused"]

    # a use before it fell due (reported now) is checked against that time: allowed
    earlier = now(harness) - timedelta(days=2)
    assert (await use(client, batch_id, used_at=earlier.isoformat())).status_code == 201
    r = await calibrate(client, now(harness) - timedelta(hours=1))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "in-service"
    assert (await use(client, batch_id)).status_code == 201


@pytest.mark.requirement("EU-PartIV.5")
async def test_out_of_service_refuses_use_until_returned(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(harness, client)
    batch_id = await open_batch(harness)
    url = f"/equipment/{CENTRIFUGE}"
    tagged = await client.post(
        f"{url}/out-of-service", json={"reason": "rotor imbalance"}, headers=OPERATOR
    )
    assert tagged.status_code == 200, tagged.text
    assert (tagged.json()["status"], tagged.json()["out_of_service_reason"]) == (
        "out-of-service",
        "rotor imbalance",
    )
    again = await client.post(f"{url}/out-of-service", json={"reason": "x"}, headers=OPERATOR)
    assert_problem(again, 409, "already-out-of-service")
    assert_problem(await use(client, batch_id), 422, "equipment-out-of-service")
    # the operator cannot put it back; a supervisor can
    back = {"reason": "rotor replaced, pre-use check passed"}
    r = await client.post(f"{url}/return-to-service", json=back, headers=OPERATOR)
    assert_problem(r, 403, "role-not-allowed")
    r = await client.post(f"{url}/return-to-service", json=back, headers=SUPERVISOR)
    assert r.status_code == 200 and r.json()["status"] == "in-service"
    assert (await use(client, batch_id)).status_code == 201
    changes = [
        (c.previous_status, c.status) for c in await harness.published(EquipmentStatusChanged)
    ]
    assert [(p and p.value, s.value) for p, s in changes] == [
        (None, "in-service"),
        ("in-service", "out-of-service"),
        ("out-of-service", "in-service"),
    ]
    log = (await client.get(f"{url}/usage", headers=OPERATOR)).json()
    assert [u["refusal"] and u["refusal"]["code"] for u in log] == [
        "equipment-out-of-service",
        None,
    ]


async def test_overdue_maintenance_refuses_use_until_maintained(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(
        harness, client, calibration={"interval_days": 365, "due_at": "2027-11-01T00:00:00Z"}
    )
    batch_id = await open_batch(harness)
    clock(harness).advance(timedelta(days=61))
    assert_problem(await use(client, batch_id), 422, "maintenance-overdue")
    done = {
        "performed_at": (now(harness) - timedelta(hours=2)).isoformat(),
        "description": "PM kit 1",
    }
    r = await client.post(f"/equipment/{CENTRIFUGE}/maintenance", json=done, headers=SUPERVISOR)
    assert r.status_code == 201, r.text
    expected = datetime.fromisoformat(done["performed_at"]) + timedelta(days=90)
    assert datetime.fromisoformat(r.json()["maintenance"]["due_at"]) == expected
    assert (await use(client, batch_id)).status_code == 201


async def test_the_wrong_instrument_is_refused_naming_why(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(harness, client)
    batch_id = await open_batch(harness)
    r = await use(client, batch_id, equipment_type="biosafety-cabinet")
    assert_problem(r, 422, "equipment-type-mismatch")
    r = await use(client, batch_id, equipment_id="CEN-9999")
    assert assert_problem(r, 422, "equipment-unknown")["field"] == "equipment_id"
    await register(harness, client, equipment_id="CEN-PARIS", site="SITE-PARIS-1")
    r = await use(client, batch_id, equipment_id="CEN-PARIS")
    assert_problem(r, 422, "equipment-at-another-site")
    r = await use(client, batch_id, step="not-a-step")
    assert_problem(r, 422, "step-unknown")
    r = await use(client, batch_id, step="harvest")  # used at the step being performed
    assert_problem(r, 409, "step-out-of-order")
    r = await use(client, "no-such-batch")
    assert_problem(r, 404, "batch-not-found")
    r = await use(client, batch_id, used_at=(now(harness) + timedelta(hours=1)).isoformat())
    assert_problem(r, 422, "equipment-use-in-future")
    log = (await client.get(f"/equipment/{CENTRIFUGE}/usage", headers=OPERATOR)).json()
    assert [u["refusal"]["code"] for u in log] == ["equipment-type-mismatch"]


async def test_nothing_is_used_in_a_batch_that_produced_its_lot(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(harness, client)
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id)
    await produce_lot(client, batch_id)
    assert_problem(await use(client, batch_id, step="cryopreservation"), 409, "batch-closed")


@pytest.mark.requirement("EU-PartIV.5", "EU-PartIV.11.4")
async def test_a_calibration_found_out_of_tolerance_names_every_batch_since_the_last_pass(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(harness, client)
    before = await open_batch(harness, attempt=1)
    assert (await use(client, before)).status_code == 201
    clock(harness).advance(timedelta(days=2))
    assert (await calibrate(client, now(harness) - timedelta(hours=1))).status_code == 201
    passed_at = now(harness) - timedelta(hours=1)
    clock(harness).advance(timedelta(days=3))
    first = await open_batch(harness, attempt=2, unit="APH-0002")
    second = await open_batch(harness, attempt=3, unit="APH-0003")
    assert (await use(client, first, step="selection")).status_code == 201
    assert (await use(client, second, step="selection")).status_code == 201
    assert (await post_step(client, first, step_body(Step.SELECTION))).status_code == 201
    assert (await use(client, first, step="activation")).status_code == 201
    clock(harness).advance(timedelta(days=1))

    r = await calibrate(
        client, now(harness) - timedelta(hours=1), found="out-of-tolerance", left="in-tolerance"
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "in-service"  # adjusted: left in tolerance
    [found] = await harness.published(EquipmentOutOfTolerance)
    assert found.equipment_id == CENTRIFUGE and found.batch_count == 2
    assert found.since == passed_at
    assert [(b.batch_id, b.steps) for b in found.batches] == [
        (first, ["selection", "activation"]),
        (second, ["selection"]),
    ]
    assert before not in {b.batch_id for b in found.batches}  # used before the last pass
    [calibration] = [h for h in r.json()["history"] if h["kind"] == "calibration-recorded"][-1:]
    assert [b["batch_id"] for b in calibration["values"]["affected"]] == [first, second]
    # one finding, one message: a later passing calibration raises none
    clock(harness).advance(timedelta(hours=2))
    assert (await calibrate(client, now(harness) - timedelta(minutes=5))).status_code == 201
    assert len(await harness.published(EquipmentOutOfTolerance)) == 1


@pytest.mark.requirement("EU-PartIV.5")
async def test_left_out_of_tolerance_it_stays_out_of_service_until_a_passing_calibration(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(harness, client)
    batch_id = await open_batch(harness)
    assert (await use(client, batch_id)).status_code == 201
    clock(harness).advance(timedelta(hours=3))
    r = await calibrate(client, now(harness) - timedelta(hours=1), found="out-of-tolerance")
    assert r.json()["status"] == "out-of-service" and r.json()["left_out_of_tolerance"]
    [found] = await harness.published(EquipmentOutOfTolerance)
    assert found.since is None and [b.batch_id for b in found.batches] == [batch_id]
    assert_problem(await use(client, batch_id), 422, "equipment-out-of-service")
    back = {"reason": "looks fine"}
    r = await client.post(f"/equipment/{CENTRIFUGE}/return-to-service", json=back, headers=QA)
    assert_problem(r, 409, "calibration-out-of-tolerance")
    r = await calibrate(client, now(harness) - timedelta(minutes=10))
    assert r.json()["status"] == "in-service"
    assert (await use(client, batch_id)).status_code == 201


async def test_calibrations_are_recorded_in_order_and_not_in_the_future(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(harness, client)
    clock(harness).advance(timedelta(days=1))
    assert (await calibrate(client, now(harness) - timedelta(hours=1))).status_code == 201
    r = await calibrate(client, now(harness) - timedelta(hours=2))
    assert_problem(r, 409, "calibration-out-of-order")
    r = await calibrate(client, now(harness) + timedelta(minutes=1))
    assert_problem(r, 422, "calibration-in-future")
    r = await calibrate(client, now(harness) - timedelta(days=2))
    assert_problem(r, 422, "calibration-before-service")
    body = {
        "performed_at": (now(harness) - timedelta(minutes=5)).isoformat(),
        "as_found": "in-tolerance",
        "as_left": "in-tolerance",
        "certificate_ref": "CAL-X",
        "next_due_at": (now(harness) - timedelta(minutes=10)).isoformat(),
    }
    r = await client.post(f"/equipment/{CENTRIFUGE}/calibrations", json=body, headers=SUPERVISOR)
    assert assert_problem(r, 422, "next-due-before-calibration")["field"] == "next_due_at"
    body["next_due_at"] = (now(harness) + timedelta(days=90)).isoformat()
    r = await client.post(f"/equipment/{CENTRIFUGE}/calibrations", json=body, headers=SUPERVISOR)
    assert r.json()["calibration"]["due_at"] == body["next_due_at"].replace("+00:00", "Z")


async def test_an_instrument_moves_within_its_site_and_keeps_its_history(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await register(harness, client)
    url = f"/equipment/{CENTRIFUGE}/location"
    r = await client.post(url, json={"location": "grade-C room 2.16"}, headers=SUPERVISOR)
    assert r.status_code == 200 and r.json()["location"] == "grade-C room 2.16"
    assert [h["kind"] for h in r.json()["history"]] == ["registered", "relocated"]
    assert r.json()["history"][0]["values"]["location"] == "grade-C room 2.14"
    same = await client.post(url, json={"location": "grade-C room 2.16"}, headers=SUPERVISOR)
    assert_problem(same, 409, "already-there")
