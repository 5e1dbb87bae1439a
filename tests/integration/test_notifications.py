"""Notifications on the real stack: an instrument out of tolerance opens a deviation in QC
over Kafka; QA classifies it critical (signed at the real Keycloak); QC's own process delivers
the notification by e-mail to a real SMTP server the test runs (aiosmtpd) — the on-call QA
and the treatment center of the site — and, unacknowledged past the window, escalates it to
the qualified person. One acknowledged in time does not escalate."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from v2v_cli.journeys import QA_REVIEWER, Driver, Endpoints

from .conftest import NOTIFY_QA, NOTIFY_QP, NOTIFY_TC, NOTIFY_WINDOW_S
from .support import eventually
from .test_deviation_lifecycle import out_of_tolerance

pytestmark = pytest.mark.integration


class Inbox:
    def __init__(self) -> None:
        self.mail: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mail.append(mail)
        return "250 OK"

    def of(self, notification_id: str, to: str) -> list[EmailMessage]:
        return [
            m for m in self.mail if m["X-V2V-Notification"] == notification_id and m["To"] == to
        ]


@pytest.fixture
def relay(notify_smtp_port: int) -> Iterator[Inbox]:
    """The site's mail relay, where QC (its own OS process) sends."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=notify_smtp_port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


async def critical_deviation(driver: Driver, platform: Endpoints) -> tuple[str, dict[str, Any]]:
    """A deviation opened over Kafka, classified critical by QA (signed); its critical
    notification."""
    equipment_id = await out_of_tolerance(driver, platform)

    async def deviations() -> list[Any]:
        url = f"{platform.qc}/deviations?equipment_id={equipment_id}"
        found: list[Any] = await driver._call("GET", url, QA_REVIEWER)
        return found

    [deviation] = await eventually(deviations, bool, timeout=60)
    deviation_id = deviation["deviation_id"]
    triage = {"classification": "critical", "rationale": "a batch may have been spun too fast"}
    view = await driver._signed(f"{platform.qc}/deviations/{deviation_id}/classification",
                                QA_REVIEWER, triage)  # fmt: skip
    assert view["classification"] == "critical"
    url = f"{platform.qc}/notifications?deviation_id={deviation_id}&state=awaiting-acknowledgement"
    [notification] = await driver._call("GET", url, QA_REVIEWER)
    assert notification["trigger"] == "deviation-critical"
    return deviation_id, notification


async def arrived(inbox: Inbox, notification_id: str, to: str, timeout: float) -> EmailMessage:
    async def probe() -> list[EmailMessage]:
        return inbox.of(notification_id, to)

    found = await eventually(probe, bool, timeout=timeout)
    assert found, f"no mail for {notification_id} to {to} within {timeout} s"
    return found[0]


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_a_critical_deviation_is_mailed_and_escalates_when_unacknowledged(
    platform: Endpoints, relay: Inbox
) -> None:
    driver = Driver(platform, log=lambda _: None, timeout=120)
    try:
        deviation_id, n = await critical_deviation(driver, platform)
        nid = n["notification_id"]
        mail = await arrived(relay, nid, NOTIFY_QA, timeout=30)
        assert "CRITICAL deviation" in mail["Subject"] and deviation_id in mail["Subject"]
        assert deviation_id in mail.get_content()
        await arrived(relay, nid, NOTIFY_TC, timeout=10)
        assert relay.of(nid, NOTIFY_QP) == []  # not yet: the QA on call has the window

        escalated = await arrived(relay, nid, NOTIFY_QP, timeout=NOTIFY_WINDOW_S + 30)
        assert escalated["Subject"].startswith("[escalated to qualified-person]")
        shown = await driver._call("GET", f"{platform.qc}/notifications/{nid}", QA_REVIEWER)
        assert [lv["role"] for lv in shown["levels"]] == ["qa-reviewer", "qualified-person"]
        sent = {d["recipient"]["to"] for d in shown["deliveries"] if d["state"] == "sent"}
        assert sent == {NOTIFY_QA, NOTIFY_TC, NOTIFY_QP}
    finally:
        await driver.close()


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_an_acknowledged_critical_notification_does_not_escalate(
    platform: Endpoints, relay: Inbox
) -> None:
    driver = Driver(platform, log=lambda _: None, timeout=120)
    try:
        _, n = await critical_deviation(driver, platform)
        nid = n["notification_id"]
        ack = f"{platform.qc}/notifications/{nid}/acknowledgement"
        done = await driver._call("POST", ack, QA_REVIEWER, {"note": "on call, investigating"})
        assert done["state"] == "acknowledged"
        qa = await driver.tokens.subject(QA_REVIEWER)
        assert done["acknowledged_by"] == {"user_id": qa, "role": "qa-reviewer"}
        await arrived(relay, nid, NOTIFY_QA, timeout=30)  # still delivered
        await asyncio.sleep(NOTIFY_WINDOW_S + 3)  # past the window: no escalation
        assert relay.of(nid, NOTIFY_QP) == []
        shown = await driver._call("GET", f"{platform.qc}/notifications/{nid}", QA_REVIEWER)
        assert shown["state"] == "acknowledged" and len(shown["levels"]) == 1
    finally:
        await driver.close()
