"""An overdue recovery decision on the real stack (issue 16 §2): a lot fails QC and the
journey waits for people. Nobody decides within the policy's ``decision_due`` (60 s in the
demo policy). The journey never decides; it says the decision is overdue, and QC chases the
people who take it. Over Kafka and SMTP: an acknowledged notification to the on-call QA,
escalated to the qualified person when nobody acknowledges it. QA then decides, signed, and
the journey ends as decided."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter

from v2v_cli.journeys import QA_REVIEWER, Driver, Endpoints, Patient
from v2v_cli.testing import ProvisionedStack

from .conftest import NOTIFY_QA, NOTIFY_QP, NOTIFY_WINDOW_S
from .support import eventually, oos_lot
from .test_notifications import Inbox, arrived, relay

pytestmark = pytest.mark.integration

__all__ = ["relay"]  # the mail relay fixture QC's notifications go to


@pytest.mark.requirement("EU-PartIV.14.1")
async def test_an_overdue_recovery_decision_is_chased_and_escalated_never_taken(
    platform: Endpoints, stack: ProvisionedStack, relay: Inbox
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    patient = Patient(f"Olga Testperson{tag}", "1966-02-11", f"MRN-O{tag}")
    site = patient.manufacturing_site
    driver = Driver(platform, log=lambda _: None, timeout=150)
    qa = driver.person(QA_REVIEWER, site)
    try:
        coi, _, lot = await oos_lot(driver, patient)
        lot_id = lot["lot_id"]

        # nobody decides: past decision_due the journey says so, and QC chases QA
        async def overdue() -> list[Any]:
            rows: list[Any] = await driver._call("GET", f"{platform.qc}/notifications", qa)
            return [
                n for n in rows if n["trigger"] == "recovery-decision-overdue" and n["coi"] == coi
            ]

        [n, *_] = await eventually(overdue, bool, timeout=150)
        assert (n["must_acknowledge"], n["chain"]) == (True, ["qa-reviewer", "qualified-person"])
        assert lot_id in n["subject"]
        nid = n["notification_id"]
        mail = await arrived(relay, nid, NOTIFY_QA, timeout=30)
        assert f"/lots/{lot_id}/recovery-decision" in mail.get_content()
        assert patient.name not in mail.get_content() and patient.mrn not in mail.get_content()
        # unacknowledged: the next role of the chain, the qualified person
        await arrived(relay, nid, NOTIFY_QP, timeout=NOTIFY_WINDOW_S + 30)

        # the journey took no decision meanwhile: it still waits for people
        client = await Client.connect(
            stack.temporal_address, data_converter=pydantic_data_converter
        )
        handle = client.get_workflow_handle(f"journey-{coi}")
        view = await handle.query("status")
        assert view["stage"] == "awaiting-decision", view

        # QA decides, signed: the journey ends as decided
        decided = await driver.recovery_decision(
            site, lot_id, "end-journey", "patient withdrew consent after the OOS result"
        )
        assert decided.status_code == 201, decided.text
        with pytest.raises(WorkflowFailureError) as ended:
            await asyncio.wait_for(handle.result(), 120)
        assert "ended by decision" in str(ended.value.cause)
        final = await handle.query("status")
        assert (final["status"], final["outcome"]) == ("failed", "ended-by-decision")
    finally:
        await driver.close()
