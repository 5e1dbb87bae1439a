"""Signatures against the real Keycloak (the demo realm's signing client): a second person
signs on another's session and the record carries that person; wrong passwords are refused,
recorded and counted, the site's security contact is mailed at the threshold (a real SMTP
relay: aiosmtpd), and the provider's lockout then refuses even the right password. Users of
this test alone for the failures (never a demo user). In-process services (access_world)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from email import message_from_bytes
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from v2v_cli.tokens import DEMO_PASSWORD, TokenBroker
from v2v_runtime.db.tables import events
from v2v_runtime.signatures.model import refusals_stream
from v2v_runtime.signatures.notify import SmtpNotifier
from v2v_runtime.testing import signed

from .access_world import World, open_world, own_user
from .test_access_scoping import PASSING, SITE, enrolled, lot_with_panel, ok

pytestmark = pytest.mark.integration

QUICK_LOGIN_S = 1.1  # slower than the realm's quick-login check, which would lock earlier


class Inbox:
    def __init__(self) -> None:
        self.mail: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mail.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, oidc_issuer: str, tokens: TokenBroker
) -> AsyncIterator[World]:
    async with open_world(tmp_path_factory.mktemp("signing"), oidc_issuer, tokens) as w:
        yield w


@pytest.fixture
def relay() -> Any:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def ready_lot(world: World, lot_id: str, mrn: str) -> str:
    coi = await enrolled(world, 1, mrn)
    panel_id = await lot_with_panel(world, 1, coi, lot_id)
    for code, value in PASSING.items():
        body = {"test_code": code, "value": value}
        ok(await world.signed("qc", f"/panels/{panel_id}/results", body, "qc-analyst"))
    ok(await world.signed("qc", f"/panels/{panel_id}/review", {}, "qc-reviewer"))  # 2nd person
    ok(await world.review_trail(lot_id, coi, "qa-reviewer"))  # signed at Keycloak
    return coi


async def refusals(world: World, username: str) -> list[Any]:
    async with world.harnesses["qc"].kit.sessions() as s:
        rows = await s.execute(
            select(events)
            .where(events.c.stream_id == refusals_stream(username))
            .order_by(events.c.version)
        )
        return list(rows)


@pytest.mark.requirement(
    "21CFR11.100(a)", "21CFR11.200(a)(1)(ii)", "21CFR11.200(a)(2)", "EU-Annex11.15"
)
async def test_a_second_person_signs_on_anothers_session(world: World) -> None:
    await ready_lot(world, "lot-sign-1", "MRN-SIGN-1")
    release = {"decision": "release", "reason": "record, results and trail reviewed"}
    session = await world.as_("qa-reviewer")  # the tablet's signed-in person
    async with world.client("qc") as qc:
        r = await signed(
            qc,
            "/lots/lot-sign-1/decision",
            release,
            session,
            signer="qa-reviewer-2",
            password=DEMO_PASSWORD,
        )
    out = ok(r)
    second = await world.broker.subject("qa-reviewer-2")
    assert out["signature"]["signer_id"] == second == out["decided_by"]["user_id"]
    assert out["signature"]["signer_name"] not in ("", None)
    assert out["signature"]["components"] == "user-id,password"


@pytest.mark.requirement("21CFR11.300(d)", "21CFR11.200(a)(2)")
async def test_wrong_passwords_are_recorded_reported_and_lock_the_account(
    world: World, admin: httpx.AsyncClient, relay: Any
) -> None:
    inbox, port = relay
    qc = world.harnesses["qc"]
    qc.kit.spec.security_notifier = SmtpNotifier(
        "127.0.0.1", port, "vein2vein@site.example", "security@site.example"
    )
    qc.kit._signing = None  # the gate is made with the notifier at its first use
    await ready_lot(world, "lot-sign-2", "MRN-SIGN-2")
    release = {"decision": "release", "reason": "record, results and trail reviewed"}
    async with own_user(admin, ["qa-reviewer"], [SITE[1]["ms"]]) as (username, password):
        issued = await world.broker.password_grant(username, password)
        session = {"Authorization": f"Bearer {issued.access_token}"}
        async with world.client("qc") as c:
            for attempt in range(1, 6):  # the realm locks at its failure factor, 5
                r = await signed(
                    c, "/lots/lot-sign-2/decision", release, session, password=f"nope-{attempt}"
                )
                assert r.status_code == 403, r.text
                assert r.json()["failures"] == attempt
                await asyncio.sleep(QUICK_LOGIN_S)
            # locked at the provider: the right password is refused now, and recorded too
            r = await signed(c, "/lots/lot-sign-2/decision", release, session, password=password)
            assert r.status_code == 403, r.text
    recorded = await refusals(world, username)
    kinds = [e.event_type for e in recorded]
    assert kinds.count("v2v.signature.refused") == 6
    assert kinds.index("v2v.security.notified") == 3  # at once, at the third failure
    notified = [e.payload for e in recorded if e.event_type == "v2v.security.notified"]
    assert all(n["delivered"] for n in notified)
    assert len(inbox.mail) == len(notified) >= 1
    mail = inbox.mail[0]
    assert mail["To"] == "security@site.example" and username in mail["Subject"]
    assert "lot-sign-2" in mail.get_payload()
