"""One deviation through its whole lifecycle on the real stack, through HTTP and Kafka only:
an instrument found out of tolerance in batch's equipment register opens it in QC over
Kafka; the site's QA triages it, the supervisor contains and investigates it, QA approves a
CAPA plan, each action's owner marks it done, a second QA reviewer closes it and QA checks
the CAPA's effectiveness — every QA decision signed with the person's password at the real
Keycloak. Integrators hear each move on QC's topic."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from v2v_cli.journeys import QA_REVIEWER, SUPERVISOR, Driver, Endpoints
from v2v_events.catalog import events_topic

from .support import eventually, read_all

pytestmark = pytest.mark.integration

SITE = "manufacturing-site-1"  # the demo supervisor's and QA reviewers' site
QA_REVIEWER_2 = "qa-reviewer-2"
STATE_CHANGED = "org.vein2vein.qc.deviation.state-changed"
CAPA_APPROVED = "org.vein2vein.qc.deviation.capa-approved"


async def out_of_tolerance(driver: Driver, platform: Endpoints) -> str:
    """A centrifuge registered and found out of tolerance at its calibration; its id."""
    equipment_id = f"CEN-LC-{uuid.uuid4().hex[:6].upper()}"
    now = datetime.now(UTC)
    instrument = {
        "equipment_id": equipment_id,
        "equipment_type": "centrifuge",
        "name": "Sorvall ST 40R",
        "site": SITE,
        "location": "grade-C room 2.14",
        "calibration": {"interval_days": 180, "due_at": (now + timedelta(days=30)).isoformat()},
        "in_service_from": (now - timedelta(days=10)).isoformat(),
    }
    calibration = {
        "performed_at": (now - timedelta(minutes=30)).isoformat(),
        "as_found": "out-of-tolerance",
        "as_left": "in-tolerance",
        "certificate_ref": f"CAL-{equipment_id}",
    }
    await driver._call("POST", f"{platform.batch}/equipment", SUPERVISOR, instrument)
    url = f"{platform.batch}/equipment/{equipment_id}/calibrations"
    await driver._call("POST", url, SUPERVISOR, calibration)
    return equipment_id


async def moves(bootstrap: str, deviation_id: str) -> list[dict[str, Any]]:
    """The deviation's public lifecycle messages on QC's topic, in order."""
    found = []
    for record in await read_all(bootstrap, events_topic("qc"), expect=1, timeout=10):
        headers = {k: v.decode() for k, v in record.headers}
        if headers.get("ce_subject") != deviation_id:
            continue
        found.append({"type": headers["ce_type"], **json.loads(record.value)})
    return found


@pytest.mark.requirement("EU-PartIV.11.4", "21CFR11.50(a)", "21CFR11.200(a)(1)(ii)", "EU-Annex11.5")
async def test_a_deviation_walks_its_lifecycle_to_the_effectiveness_check_on_the_real_stack(
    platform: Endpoints, kafka_bootstrap: str
) -> None:
    driver = Driver(platform, log=lambda _: None, timeout=120)
    try:
        equipment_id = await out_of_tolerance(driver, platform)

        async def deviations() -> list[Any]:
            url = f"{platform.qc}/deviations?equipment_id={equipment_id}"
            found: list[Any] = await driver._call("GET", url, QA_REVIEWER)
            return found

        [deviation] = await eventually(deviations, bool, timeout=60)
        url = f"{platform.qc}/deviations/{deviation['deviation_id']}"
        assert (deviation["state"], deviation["source"]) == ("opened", "equipment")
        supervisor = await driver.tokens.subject(SUPERVISOR)
        qa = await driver.tokens.subject(QA_REVIEWER)
        assert deviation["opened_by"]["user_id"] == supervisor

        # triage by QA, signed at Keycloak
        triage = {"classification": "major", "rationale": "rotor speed unknown since service"}
        view = await driver._signed(f"{url}/classification", QA_REVIEWER, triage)
        assert (view["state"], view["classification"]) == ("triaged", "major")
        # containment and investigation: the supervisor
        containment = {
            "actions": f"{equipment_id} tagged out of use pending assessment",
            "affected": [{"kind": "equipment", "id": equipment_id}],
        }
        view = await driver._call("POST", f"{url}/containment", SUPERVISOR, containment)
        assert view["state"] == "contained"
        investigation = {
            "root_cause_category": "equipment",
            "narrative": "tachometer drift; no batch used the centrifuge since service",
        }
        view = await driver._call("POST", f"{url}/investigation", SUPERVISOR, investigation)
        assert view["state"] == "investigated"

        # the CAPA plan, approved by QA (signed): one action each
        today = datetime.now(UTC).date()
        plan = {
            "actions": [
                {
                    "description": "replace the tachometer and re-qualify the centrifuge",
                    "owner": supervisor,
                    "due_date": (today + timedelta(days=14)).isoformat(),
                    "kind": "corrective",
                },
                {
                    "description": "add a speed check to the centrifuge's pre-use check",
                    "owner": qa,
                    "due_date": (today + timedelta(days=21)).isoformat(),
                    "kind": "preventive",
                },
            ],
            "effectiveness_check_due": (today + timedelta(days=90)).isoformat(),
        }
        view = await driver._signed(f"{url}/capa-plan", QA_REVIEWER, plan)
        assert view["state"] == "capa-approved"
        for action_id, owner in (("A1", SUPERVISOR), ("A2", QA_REVIEWER)):
            done = {"evidence": f"WO-{equipment_id}-{action_id}"}
            path = f"{url}/capa-actions/{action_id}/done"
            view = await driver._call("POST", path, owner, done)
        assert view["state"] == "implemented"

        # closure by a second QA reviewer, then QA's effectiveness check — both signed
        closing = {"reason": "CAPA implemented: tachometer replaced, pre-use check extended"}
        view = await driver._signed(f"{url}/close", QA_REVIEWER_2, closing)
        assert view["state"] == "closed"
        check = {"result": "effective", "narrative": "speed within ±0.5 % at every pre-use check"}
        view = await driver._signed(f"{url}/effectiveness-check", QA_REVIEWER, check)
        assert (view["state"], view["allowed_next"]) == ("effective", [])

        shown = await driver._call("GET", url, QA_REVIEWER)
        assert [t["state"] for t in shown["timeline"]] == [
            "opened",
            "triaged",
            "contained",
            "investigated",
            "capa-approved",
            "implemented",
            "closed",
            "effective",
        ]
        second = await driver.tokens.subject(QA_REVIEWER_2)
        assert [(s["meaning"], s["signer_id"]) for s in shown["signatures"]] == [
            ("approved", qa),
            ("approved", qa),
            ("approved", second),
            ("approved", qa),
        ]
        assert all(
            s["signer_name"] and s["components"] == "user-id,password" for s in shown["signatures"]
        )
        assert [a["done_by"]["user_id"] for a in shown["capa"]["actions"]] == [supervisor, qa]
    finally:
        await driver.close()

    # integrators hear each move over Kafka (keyed by the deviation: it names no one CoI)
    deviation_id = deviation["deviation_id"]
    heard = await eventually(lambda: moves(kafka_bootstrap, deviation_id), lambda m: len(m) >= 8)
    assert [(m["type"], m.get("state")) for m in heard] == [
        (STATE_CHANGED, "triaged"),
        (STATE_CHANGED, "contained"),
        (STATE_CHANGED, "investigated"),
        (CAPA_APPROVED, None),
        (STATE_CHANGED, "capa-approved"),
        (STATE_CHANGED, "implemented"),
        (STATE_CHANGED, "closed"),
        (STATE_CHANGED, "effective"),
    ]
    approved = heard[3]
    assert [(a["owner"], a["kind"]) for a in approved["actions"]] == [
        (supervisor, "corrective"),
        (qa, "preventive"),
    ]
    assert heard[6]["actor"]["user_id"] == second and heard[6]["site"] == SITE
