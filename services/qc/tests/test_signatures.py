"""Part 11 signatures on QA's release decision (the runtime's gate, in QC): the content shown
and its hash, the signer who re-authenticates (not the session's owner), refusals recorded
and counted, the security notice, one component within a continuous session, and what the
views show."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from v2v_cli.main import app as cli
from v2v_runtime.audit import verify
from v2v_runtime.db.tables import events
from v2v_runtime.signatures.model import content_hash, refusals_stream
from v2v_runtime.testing import ServiceHarness, as_user, signed, signing_password

from .support import ANALYST, PASSING, QA, order_panel, post_all, problem, review_trail

DECISION = "/lots/lot-1/decision"
RELEASE = {"decision": "release", "reason": "record, results and audit trail reviewed"}
QA_2 = as_user("u-qa-2", "qa-reviewer", name="Quinn Second")
AUDITOR = as_user("u-auditor-sig", "auditor")


class Notices:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def notify(self, subject: str, body: str) -> tuple[bool, str]:
        self.sent.append((subject, body))
        return True, "recorded by the test"


async def ready_lot(harness: ServiceHarness, client: httpx.AsyncClient) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id)
    assert (await review_trail(client)).status_code == 201


async def stored(harness: ServiceHarness, stream: str) -> list[Any]:
    async with harness.kit.sessions() as s:
        rows = await s.execute(
            select(events).where(events.c.stream_id == stream).order_by(events.c.version)
        )
        return list(rows)


def signature(shown: httpx.Response, user: str | None, password: str) -> dict[str, Any]:
    sig: dict[str, Any] = {"content_hash": shown.json()["content_hash"], "password": password}
    if user is not None:
        sig["username"] = user
    return sig


@pytest.mark.requirement(
    "21CFR11.50(a)", "21CFR11.70", "EU-Annex11.14(c)", "EU-Annex11.14(a)", "EU-Annex11.15"
)
async def test_an_unsigned_decision_shows_what_will_be_signed(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await ready_lot(harness, client)
    shown = await client.post(DECISION, json=RELEASE, headers=QA)
    body = problem(shown, 428, "signature-required")
    content = body["content"]
    assert body["meaning"] == "released" == content["meaning"]
    assert content["record"]["id"] == "qc-lot:lot-1" or content["record"]["id"].endswith("lot-1")
    assert content["values"] == {"lot_id": "lot-1", **RELEASE}
    assert body["content_hash"] == content_hash(content)
    # nothing decided: the lot can still be decided once signed
    r = await client.post(
        DECISION, json={**RELEASE, "signature": signature(shown, "u-qa", "pw-u-qa")}, headers=QA
    )
    assert r.status_code == 201, r.text
    out = r.json()
    sig = out["signature"]
    assert (sig["meaning"], sig["signer_id"], sig["signer_name"]) == (
        "released",
        "u-qa",
        "Test u-qa",
    )
    assert sig["content_hash"] == body["content_hash"]
    assert sig["signed_at_site"].endswith("UTC")
    assert out["decided_by"]["user_id"] == "u-qa"


@pytest.mark.requirement(
    "21CFR11.100(a)", "21CFR11.200(a)(1)(ii)", "21CFR11.200(a)(2)", "EU-Annex11.15"
)
async def test_the_signer_is_who_authenticates_not_the_session(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    """A second QA reviewer signs on the first one's tablet: the decision and the signature
    carry the second person; the session's owner is kept in the authentication event."""
    await ready_lot(harness, client)
    r = await signed(client, DECISION, RELEASE, QA, signer="u-qa-2")
    assert r.status_code == 201, r.text
    assert r.json()["signature"]["signer_id"] == "u-qa-2"
    assert r.json()["signature"]["signer_name"] == "Quinn Second"
    assert r.json()["decided_by"]["user_id"] == "u-qa-2"
    [*_, last] = await stored(harness, "qc-lot:lot-1")
    assert last.event_type == "v2v.signature.recorded"
    assert last.payload["signer"]["user_id"] == "u-qa-2"
    assert last.payload["authentication"]["session_user_id"] == "u-qa"
    assert last.payload["authentication"]["components"] == ["user-id", "password"]


@pytest.mark.requirement(
    "21CFR11.100(a)", "21CFR11.200(a)(2)", "21CFR11.10(g)", "21CFR11.200(a)(3)"
)
async def test_nobody_signs_as_someone_else_nor_without_the_role(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await ready_lot(harness, client)
    # the analyst's password is not the reviewer's
    r = await signed(client, DECISION, RELEASE, QA, signer="u-qa-2", password="pw-u-qa")
    problem(r, 403, "signature-authentication-failed")
    # an analyst authenticates fine but may not sign a release
    as_user("u-analyst", "qc-analyst")
    r = await signed(client, DECISION, RELEASE, QA, signer="u-analyst")
    problem(r, 403, "signer-not-allowed")
    assert [e.event_type for e in await stored(harness, "qc-lot:lot-1")][-1] != (
        "v2v.signature.recorded"
    )


@pytest.mark.requirement("21CFR11.300(d)")
async def test_wrong_passwords_are_refused_counted_recorded_and_reported(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    notices = Notices()
    harness.kit.spec.security_notifier = notices
    await ready_lot(harness, client)
    for attempt in (1, 2, 3):
        r = await signed(client, DECISION, RELEASE, QA, password=f"guess-{attempt}")
        assert problem(r, 403, "signature-authentication-failed")["failures"] == attempt
    refusals = await stored(harness, refusals_stream("u-qa"))
    assert [e.event_type for e in refusals] == [
        "v2v.signature.refused",
        "v2v.signature.refused",
        "v2v.signature.refused",
        "v2v.security.notified",
    ]
    assert refusals[0].payload["reason"] == "wrong user id or password"
    assert refusals[0].payload["record_id"] == "qc-lot:lot-1"
    [(subject, text)] = notices.sent  # at the third failure (the default threshold)
    assert "u-qa" in subject and "3 failed" in text
    # in the audit trail, for the quality unit and inspectors
    params = {"record": refusals_stream("u-qa"), "type": "v2v.signature.refused"}
    trail = await client.get("/audit-trail", params=params, headers=AUDITOR)
    assert [e["values"]["reason"] for e in trail.json()["entries"]] == [
        "wrong user id or password"
    ] * 3
    # the lot is still undecided: the right password signs
    assert (await signed(client, DECISION, RELEASE, QA)).status_code == 201


@pytest.mark.requirement("21CFR11.70", "21CFR11.10(e)", "EU-Annex11.14(b)")
async def test_a_record_changed_since_it_was_shown_is_not_signed(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await ready_lot(harness, client)
    shown = await client.post(DECISION, json=RELEASE, headers=QA)
    # the lot moves on (a deviation is opened on it) after QA was shown it
    dev = await client.post(
        "/deviations",
        json={
            "coi": "CHA1B2C26000123",
            "lot_id": "lot-1",
            "classification": "minor",
            "source": "documentation",
            "description": "label smudged",
        },
        headers=ANALYST,
    )
    assert dev.status_code == 201, dev.text
    r = await client.post(
        DECISION, json={**RELEASE, "signature": signature(shown, "u-qa", "pw-u-qa")}, headers=QA
    )
    body = problem(r, 409, "signed-content-changed")
    assert body["content_hash"] != shown.json()["content_hash"]
    # and a hash of other values than those sent is refused the same way
    other = {**RELEASE, "reason": "something else"}
    r = await client.post(
        DECISION,
        json={**other, "signature": signature(shown, "u-qa", "pw-u-qa")},
        headers=QA,
    )
    problem(r, 409, "signed-content-changed")
    # both refusals are recorded; neither counts as a failed authentication
    refused = await stored(harness, refusals_stream("u-qa"))
    assert [e.payload["authentication_failed"] for e in refused] == [False, False]
    assert [e.payload["failures_in_window"] for e in refused] == [0, 0]
    assert "hash differs" in refused[0].payload["reason"]


@pytest.mark.requirement("21CFR11.200(a)(1)(i)", "21CFR11.200(a)(1)(ii)", "21CFR11.200(a)(3)")
async def test_one_component_only_in_a_continuous_session_where_the_site_allows_it(
    harness: ServiceHarness, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready_lot(harness, client)
    # the default: both components every time; the password alone is refused and recorded
    r = await signed(client, DECISION, RELEASE, QA, one_component=True)
    problem(r, 403, "signature-authentication-failed")
    monkeypatch.setenv("V2V_SIGNING_ONE_COMPONENT_IN_SESSION", "true")
    harness.kit._signing = None  # settings are read when the gate is made
    # allowed, but not before a two-component signing in this session (QA_2's: none yet)
    r = await signed(client, DECISION, RELEASE, QA_2, one_component=True)
    assert "first in this session" in problem(r, 403, "signature-authentication-failed")["detail"]
    reject_2 = {"decision": "reject", "reason": "label"}
    panel_2 = await order_panel(harness, "lot-2", attempt=2)
    await post_all(client, panel_2)
    assert (await signed(client, "/lots/lot-2/decision", reject_2, QA_2)).status_code == 201
    # a token is not a component: the session's bearer token as the password fails
    token = QA_2["Authorization"].removeprefix("Bearer ")
    r = await signed(client, DECISION, RELEASE, QA_2, one_component=True, password=token)
    problem(r, 403, "signature-authentication-failed")
    refusals = await stored(harness, refusals_stream("u-qa-2"))
    assert [e.payload["reason"] for e in refusals] == [
        "sign with user id and password first in this session",
        "wrong user id or password",
    ]
    assert [e.payload["reason"] for e in await stored(harness, refusals_stream("u-qa"))] == [
        "this site signs with user id and password every time"
    ]
    # the password re-entered signs (once lot 1's trail, moved by lot 2, is reviewed again)
    assert (await review_trail(client)).status_code == 201
    r = await signed(client, DECISION, RELEASE, QA_2, one_component=True)
    assert r.status_code == 201, r.text
    assert r.json()["signature"]["components"] == "password"
    assert r.json()["signature"]["signer_id"] == "u-qa-2"
    assert signing_password("u-qa-2") != token


@pytest.mark.requirement("21CFR11.70", "EU-Annex11.14(b)")
async def test_a_moved_signature_is_caught_by_the_audit(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    """Copy lot 1's signature into lot 2's stream, re-chaining it so the hash chain itself is
    intact: the signature check still names it (wrong record, wrong record hash)."""
    await ready_lot(harness, client)
    assert (await signed(client, DECISION, RELEASE, QA)).status_code == 201
    panel_2 = await order_panel(harness, "lot-2", attempt=2)
    await post_all(client, panel_2)
    async with harness.kit.uow() as uow:
        report = await verify(uow.session)
    assert report.ok, report.findings
    # the trail review, the release, every result entered on the two panels and their QC
    # reviews (signed too)
    assert report.signatures_checked == 2 + 2 * len(PASSING) + 2
    [*_, sig] = await stored(harness, "qc-lot:lot-1")
    moved = await move(harness, sig, "qc-lot:lot-2")
    async with harness.kit.uow() as uow:
        report = await verify(uow.session)
    problems = [f.problem for f in report.findings if f.stream_id == "qc-lot:lot-2"]
    assert any("moved or copied" in p for p in problems), problems
    assert any("signed record hash differs" in p for p in problems), problems
    assert any("stored twice" in p for p in problems), problems
    assert moved
    # and as an inspector runs it: `v2v audit verify` names the signature, exit code 1
    url = harness.kit.settings.database_url
    out = await asyncio.to_thread(
        CliRunner().invoke, cli, ["audit", "verify", "--database-url", url, "--service", "qc"]
    )
    assert out.exit_code == 1, out.output
    assert "qc-lot:lot-2" in out.output and "moved or copied" in out.output


async def move(harness: ServiceHarness, sig: Any, target: str) -> bool:
    """Append a copy of ``sig`` to ``target`` as the event store would (valid chain)."""
    from v2v_runtime.eventstore import EventStore, NewEvent

    async with harness.kit.uow() as uow:
        store = EventStore(uow.session, harness.kit.clock)
        version = await store.stream_version(target)
        await store.append(
            target,
            version,
            [
                NewEvent(
                    event_id="copied-signature",
                    event_type=sig.event_type,
                    schema_version=sig.schema_version,
                    payload=sig.payload,
                    actor=sig.actor,
                )
            ],
        )
    return True
