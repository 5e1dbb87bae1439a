"""Exceptional release of an out-of-specification lot on the real stack (issue 16 §1, §2),
through HTTP and Kafka only, every act signed at Keycloak, the patient's journey running:
the lot fails its specification; the journey compensates (its outbound shipment cancelled,
the lot held in QC — never rejected) and waits for people; a re-manufacture naming material
that does not exist and a decision without the physician's request are refused; QA decides
exceptional release, the treatment center records the treating physician's request, QA
assesses the risk, lifts the journey's hold (signed; the release is refused while it stands)
and releases it; the journey books the way out again; the bag reaches the treatment center,
custody thaws and infuses it; the journey ends completed after exceptional release; QC
learns the infusion over Kafka and the EU site's 48 h authority notification task appears,
then is done."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from v2v_cli.journeys import (
    COORDINATOR,
    QA_REVIEWER,
    Driver,
    Endpoints,
    Patient,
)
from v2v_cli.testing import ProvisionedStack

from .support import eventually, oos_lot

pytestmark = pytest.mark.integration

PROBLEM = "urn:vein2vein:problem:"


@pytest.mark.requirement("EU-PartIV.11.5", "21CFR11.50(a)")
async def test_an_oos_lot_is_released_exceptionally_at_a_physicians_request(
    platform: Endpoints, stack: ProvisionedStack
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    patient = Patient(f"Xena Testperson{tag}", "1972-05-09", f"MRN-X{tag}")
    center, site = patient.treatment_center, patient.manufacturing_site
    log: list[str] = []
    driver = Driver(platform, log=log.append, timeout=150)
    qc = platform.qc
    qa = driver.person(QA_REVIEWER, site)
    try:
        coi, attempt, lot = await oos_lot(driver, patient)
        lot_id = lot["lot_id"]

        # the journey holds the lot in QC (its compensation; never a rejection) and waits
        async def journey_hold() -> list[Any]:
            found: list[Any] = await driver._call("GET", f"{qc}/holds?kind=lot&id={lot_id}", qa)
            return found

        held = await eventually(journey_hold, bool, timeout=60)
        assert all(h["reason"].startswith("journey compensation") for h in held), held

        # bad input: material that does not exist; a release without the request
        body = {"decision": "remanufacture", "reason": "x", "apheresis_unit_id": "APH-NONE"}
        url = f"{qc}/lots/{lot_id}/recovery-decision"
        wrong = await driver._signed_request(url, qa, body)
        assert (wrong.status_code, wrong.json()["type"]) == (409, f"{PROBLEM}no-retained-material")
        assert wrong.json()["apheresis_unit_id"] == "APH-NONE"
        base = f"{qc}/lots/{lot_id}/exceptional-release"
        decision = {"reason": "physician's request and the risk assessment reviewed"}
        early = await driver._signed_request(f"{base}/decision", qa, decision)
        assert early.status_code == 409, early.text
        assert early.json()["missing"] == [
            "recovery-decision",
            "physician-request",
            "risk-assessment",
        ]

        # people decide; the physician asks (the center records it); QA assesses, releases
        decided = await driver.recovery_decision(
            site, lot_id, "exceptional-release", "no alternative therapy; physician asks"
        )
        assert decided.status_code == 201, decided.text
        request = {
            "treatment_center": center,
            "physician_name": "Dr Ada Physician",
            "physician_id": "LIC-DE-0042",
            "justification": "refractory disease; viability below limit, dose still clinical",
        }
        coordinator = driver.person(COORDINATOR, center)
        asked = await driver._signed(f"{base}/physician-request", coordinator, request)
        assert [s["meaning"] for s in asked["signatures"]] == ["authored"]
        assessment = {"assessment": "benefit outweighs the risk of the lower viability"}
        await driver._signed(f"{base}/risk-assessment", qa, assessment)
        # the journey's hold on the lot stands: QA lifts it (signed) before releasing
        held_now = await driver._signed_request(f"{base}/decision", qa, decision)
        assert held_now.json()["type"] == f"{PROBLEM}lot-held", held_now.text
        lift = {"reason": "to be released exceptionally at the physician's request"}
        for hold in held:
            await driver._signed(f"{qc}/holds/{hold['hold_id']}/release", qa, lift)
        released = await driver._signed(f"{base}/decision", qa, decision)
        assert (released["state"], released["decision"]["region"]) == ("released", "EU")
        assert [s["meaning"] for s in released["signatures"]] == [
            "authored",
            "approved",
            "released",
        ]

        # the journey books the way out again; the bag reaches the treatment center and,
        # custody knowing the release over Kafka, is thawed and infused
        await driver.delivered(coi, patient, attempt, lot)
        await driver.infuse(coi, center, lot["bag_ids"])
        client = await Client.connect(
            stack.temporal_address, data_converter=pydantic_data_converter
        )
        view = await asyncio.wait_for(client.get_workflow_handle(f"journey-{coi}").result(), 120)
        assert (view["status"], view["outcome"]) == (
            "completed",
            "completed-after-exceptional-release",
        ), "\n".join(log)

        # QC learns the infusion over Kafka: the authority is owed a notice within 48 h
        async def task() -> dict[str, Any]:
            got = await driver._call("GET", f"{qc}/exceptional-releases/{lot_id}", qa)
            return dict(got["authority_notification"])

        due = await eventually(task, lambda t: t["due_at"] is not None)
        assert due["state"] == "due", due
        infused = datetime.fromisoformat(due["infused_at"])
        assert datetime.fromisoformat(due["due_at"]) == infused + timedelta(hours=48)
        late = (infused + timedelta(hours=49)).isoformat()
        overdue = await driver.http.get(
            f"{qc}/exceptional-releases",
            params={"overdue": "true", "as_of": late},
            headers=await driver.headers(qa),
        )
        assert lot_id in [x["lot_id"] for x in overdue.json()], overdue.text
        done = await driver._call(
            "POST", f"{base}/authority-notification", qa, {"reference": "PEI-2027-0042"}
        )
        assert done["authority_notification"]["state"] == "done"
    except Exception:
        print("\n".join(log))
        raise
    finally:
        await driver.close()
