"""Notifications delivered for real: e-mail to an aiosmtpd server, webhook calls to a local
HTTP server (HMAC-signed); a critical deviation escalates past its window unless a recipient's
role acknowledges it; failed deliveries are retried with backoff and survive a restart."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from v2v_events.contracts.journey import NotificationReason, TreatmentCenterNotified
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, StepClock, as_user, signed

from .lifecycle import SUPERVISOR, ok, opened_on_lot
from .notify_support import (
    PAGER_ENV,
    PAGER_SECRET,
    WINDOW_S,
    Hook,
    Inbox,
    delivery,
    free_port,
    notifying_harness,
    payload,
    routing,
    smtp_server,
    webhook_server,
)
from .support import (
    COI,
    QA,
    classified,
    enrolled,
    order_panel,
    post_all,
    post_result,
    problem,
    review_trail,
)

WINDOW = timedelta(seconds=WINDOW_S)
QP = as_user("u-qp", "qualified-person")
QA_ELSEWHERE = as_user("u-qa-3", "qa-reviewer", sites=("MS-9",))


@pytest.fixture
def relay() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Hook, str]]:
    monkeypatch.setenv(PAGER_ENV, PAGER_SECRET)
    with webhook_server() as server:
        yield server


@pytest.fixture
async def qc(
    tmp_path: Path, relay: tuple[Inbox, int], hook: tuple[Hook, str]
) -> AsyncIterator[ServiceHarness]:
    h = notifying_harness(tmp_path, relay[1], routing(hook[1]))
    await h.start()
    yield h
    await h.close()


def clock(h: ServiceHarness) -> StepClock:
    c = h.kit.clock
    assert isinstance(c, StepClock)
    return c


async def notifications(client: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    r = await client.get("/notifications", params={"deviation_id": url.rsplit("/", 1)[1]})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


async def test_a_critical_deviation_is_mailed_signed_to_the_webhook_and_escalates(
    qc: ServiceHarness, relay: tuple[Inbox, int], hook: tuple[Hook, str]
) -> None:
    inbox, calls = relay[0], hook[0].calls
    async with qc.client() as client:
        url = await opened_on_lot(qc, client, "critical", by=SUPERVISOR)
        [n] = await notifications(client, url)
        assert (n["trigger"], n["state"], n["role"]) == (
            "deviation-critical",
            "awaiting-acknowledgement",
            "qa-reviewer",
        )
        assert await delivery(qc).run_once() == 4  # QA on call (mail, pager), the TC, the opener
        for address in ("qa-oncall@ms1.example", "tc@hospital.example", "sam@ms1.example"):
            [mail] = inbox.to(address)
            assert "CRITICAL deviation" in mail["Subject"]
            assert mail["Message-ID"].startswith(f"<{n['notification_id']}.0.")
        body = inbox.to("qa-oncall@ms1.example")[0].get_content()
        assert "CHA1B2C26000123" in body  # the CoI, never the free text typed
        assert "dewar" not in body and "acknowledgement" in body
        [(headers, raw)] = calls
        expected = hmac.new(PAGER_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["V2V-Signature"] == f"sha256={expected}"
        assert headers["V2V-Delivery-Id"] == f"{n['notification_id']}.0.1.1"
        sent = payload(raw)
        assert (sent["level"], sent["role"], sent["must_acknowledge"]) == (0, "qa-reviewer", True)
        assert await delivery(qc).run_once() == 0  # nothing due: delivered once

        clock(qc).advance(WINDOW)  # unacknowledged: the QP is told
        assert await delivery(qc).run_once() == 2  # the escalation and its mail
        [escalated] = inbox.to("qp@ms1.example")
        assert escalated["Subject"].startswith("[escalated to qualified-person]")
        clock(qc).advance(WINDOW)  # the chain ends with the QP
        assert await delivery(qc).run_once() == 1
        shown = ok(await client.get(f"/notifications/{n['notification_id']}"))
        assert shown["state"] == "unacknowledged" and shown["exhausted_at"] is not None
        assert [lv["role"] for lv in shown["levels"]] == ["qa-reviewer", "qualified-person"]
        assert {d["state"] for d in shown["deliveries"]} == {"sent"}
        assert len(inbox.mail) == 4
        # acknowledged late, by the QP the chain reached
        r = await client.post(
            f"/notifications/{n['notification_id']}/acknowledgement", json={}, headers=QP
        )
        assert ok(r)["acknowledged_by"] == {"user_id": "u-qp", "role": "qualified-person"}


async def test_classified_critical_by_qa_and_acknowledged_it_does_not_escalate(
    qc: ServiceHarness, relay: tuple[Inbox, int]
) -> None:
    inbox = relay[0]
    async with qc.client() as client:
        url = await opened_on_lot(qc, client, "major", by=SUPERVISOR)
        [info] = await notifications(client, url)
        assert (info["trigger"], info["state"]) == ("deviation-opened", "informational")
        await classified(client, url, "critical")  # signed by QA
        critical, _ = await notifications(client, url)
        assert critical["trigger"] == "deviation-critical"
        await delivery(qc).run_once()
        assert [m["To"] for m in inbox.mail if "opened" in m["Subject"]] == [
            "sam@ms1.example",  # the opener, then QA of the site
            "qa-oncall@ms1.example",
        ]
        ack = f"/notifications/{critical['notification_id']}/acknowledgement"
        # the QP was not told yet; QA of another site; a role that is never told
        problem(await client.post(ack, json={}, headers=QP), 403, "not-a-recipient")
        problem(await client.post(ack, json={}, headers=QA_ELSEWHERE), 403, "site-not-yours")
        analyst = as_user("u-an-2", "qc-analyst")
        problem(await client.post(ack, json={}, headers=analyst), 403, "role-not-allowed")
        done = ok(await client.post(ack, json={"note": "on my way to the floor"}, headers=QA))
        assert done["state"] == "acknowledged" and done["acknowledgement_note"]
        problem(await client.post(ack, json={}, headers=QA), 409)
        informational = f"/notifications/{info['notification_id']}/acknowledgement"
        problem(await client.post(informational, json={}, headers=QA), 409)

        clock(qc).advance(3 * WINDOW)
        assert await delivery(qc).run_once() == 0
        assert inbox.to("qp@ms1.example") == []
        listed = await client.get("/notifications", params={"state": "acknowledged"})
        assert [n["notification_id"] for n in listed.json()] == [critical["notification_id"]]


async def test_failed_deliveries_are_retried_with_backoff_and_survive_a_restart(
    tmp_path: Path, hook: tuple[Hook, str]
) -> None:
    port = free_port()  # the relay is down at first
    hooked, hook_url = hook
    hooked.status = 503
    step = StepClock(tick=timedelta(seconds=1))
    first = notifying_harness(tmp_path, port, routing(hook_url), step)
    await first.start()
    async with first.client() as client:
        url = await opened_on_lot(first, client, "critical", by=SUPERVISOR)
    await delivery(first).run_once()
    async with first.client() as client:
        [n] = await notifications(client, url)
        shown = ok(await client.get(f"/notifications/{n['notification_id']}"))
    failed = [d for d in shown["deliveries"] if d["attempts"] == 1]
    assert len(failed) == 4 and {d["state"] for d in failed} == {"pending"}
    assert any("503" in d["detail"] for d in failed)
    await first.close()

    # restarted with the relay up and the hook answering: the pending work is found again
    hooked.status = 204
    with smtp_server(port) as (inbox, _):
        again = notifying_harness(tmp_path, port, routing(hook_url), step, "restarted")
        await again.start()
        try:
            assert await delivery(again).run_once() == 0  # the backoff (30 s) not over
            step.advance(timedelta(seconds=30))
            assert await delivery(again).run_once() == 4
            assert len(inbox.mail) == 3
            assert len(hooked.calls) == 2
            assert hooked.calls[1][0]["V2V-Delivery-Id"].endswith(".0.1.2")  # attempt 2
        finally:
            await again.close()


async def test_a_deviation_opened_critical_is_notified_once_when_qa_confirms_the_class(
    qc: ServiceHarness,
) -> None:
    async with qc.client() as client:
        url = await opened_on_lot(qc, client, "critical", by=SUPERVISOR)
        await classified(client, url, "critical")  # QA's triage confirms the proposed class
        [n] = await notifications(client, url)
        assert n["trigger"] == "deviation-critical"


def decision_overdue(message_site: str = "MS-1") -> TreatmentCenterNotified:
    return TreatmentCenterNotified(
        coi=COI,
        treatment_center="treatment-center-1",
        reason=NotificationReason.DEADLINE_MISSED,
        detail="recovery decision on lot lot-1 overdue: the journey is waiting",
        lot_id="lot-1",
        notified_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
        deadline="recovery-decision",
        manufacturing_site=message_site,
    )


@pytest.mark.requirement("EU-PartIV.14.1")
async def test_an_overdue_recovery_decision_reminds_qa_and_escalates_to_the_qp(
    qc: ServiceHarness, relay: tuple[Inbox, int]
) -> None:
    """The journey never decides: its overdue decision is QC's to chase, with the chain."""
    inbox = relay[0]
    async with qc.client() as client:
        outcome = await qc.deliver(decision_overdue(), subject=COI, id="overdue-1")
        assert outcome is Outcome.PROCESSED
        assert (await client.get("/deviations", params={"lot_id": "lot-1"})).json() == []
        [n] = [x for x in await all_notifications(client) if x["trigger"] != "deviation-opened"]
        assert (n["trigger"], n["state"], n["role"]) == (
            "recovery-decision-overdue",
            "awaiting-acknowledgement",
            "qa-reviewer",
        )
        assert await delivery(qc).run_once() == 3  # QA on call (mail, pager), the TC
        [mail] = inbox.to("qa-oncall@ms1.example")
        assert "recovery decision on lot lot-1 overdue" in mail["Subject"]
        assert "/lots/lot-1/recovery-decision" in mail.get_content() and COI in mail.get_content()
        clock(qc).advance(WINDOW)  # nobody acknowledged: the next role, the QP
        assert await delivery(qc).run_once() == 2
        [escalated] = inbox.to("qp@ms1.example")
        assert escalated["Subject"].startswith("[escalated to qualified-person]")
        # the journey's other notifications tell QC's people nothing
        other = decision_overdue().model_copy(update={"deadline": "collection"})
        assert await qc.deliver(other, subject=COI, id="other-1") is Outcome.PROCESSED
        assert len(await all_notifications(client)) == 1


async def all_notifications(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    r = await client.get("/notifications", headers=QA)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


@pytest.mark.requirement("EU-PartIV.11.3.2")
async def test_a_failed_conditional_release_tells_the_patients_own_center(
    qc: ServiceHarness, relay: tuple[Inbox, int]
) -> None:
    """The treating physician and the coordinator of the center custody enrolled the patient
    at are mailed at once, besides QA and the manufacturing site's treatment-center line."""
    inbox = relay[0]
    async with qc.client() as client:
        assert await qc.deliver(enrolled(COI, "TC-1"), subject=COI) is Outcome.PROCESSED
        panel_id = await order_panel(qc)
        await post_all(client, panel_id, skip=("sterility",))
        assert (await review_trail(client)).status_code == 201
        body = {"decision": "conditional-release", "reason": "sterility pending"}
        r = await signed(
            client, "/lots/lot-1/decision", {**body, "pending_tests": ["sterility"]}, QA
        )
        assert r.status_code == 201, r.text
        growth = await post_result(client, panel_id, "sterility", "growth")
        assert growth.status_code == 201, growth.text
        [n] = [x for x in await all_notifications(client) if x["trigger"] != "deviation-opened"]
        assert n["trigger"] == "conditional-release-failed"
        await delivery(qc).run_once()
        for address in ("dr@tc1.example", "coordinator@tc1.example", "tc@hospital.example"):
            [mail] = inbox.to(address)
            assert "conditionally released lot lot-1 failed" in mail["Subject"]
            assert "Treatment center: TC-1" in mail.get_content()


async def test_a_critical_deviation_also_tells_the_patients_own_center(
    qc: ServiceHarness, relay: tuple[Inbox, int]
) -> None:
    inbox = relay[0]
    async with qc.client() as client:
        assert await qc.deliver(enrolled(COI, "TC-1"), subject=COI) is Outcome.PROCESSED
        url = await opened_on_lot(qc, client, "critical", by=SUPERVISOR)
        [n] = await notifications(client, url)
        assert n["trigger"] == "deviation-critical"
        # QA on call (mail, pager), the site's treatment-center line, the opener, and the
        # coordinator of the center the patient was enrolled at
        assert await delivery(qc).run_once() == 5
        [mail] = inbox.to("coordinator@tc1.example")
        assert "CRITICAL deviation" in mail["Subject"] and COI in mail.get_content()
        assert inbox.to("dr@tc1.example") == []  # the physician: a failed release's, not this
