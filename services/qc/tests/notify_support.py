"""A real SMTP server (aiosmtpd) and a real HTTP server for webhooks, for the notification
tests; and the QC service routed to them."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from v2v_qc.adapters.notify.loop import delivery_for
from v2v_qc.adapters.notify.settings import MailSettings
from v2v_qc.application.notification_delivery import NotificationDelivery
from v2v_qc.bootstrap import build
from v2v_qc.domain.notification_routing import Routing
from v2v_qc.settings import QcSettings
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock

from .support import READER

WINDOW_S = 60
PAGER_SECRET = "pager-secret-for-tests"
PAGER_ENV = "V2V_TEST_PAGER_SECRET"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.mail: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mail.append(mail)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mail if m["To"] == address]


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[Inbox, int]]:
    port = port or free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@dataclass
class Hook:
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    status: int = 200


@contextmanager
def webhook_server() -> Iterator[tuple[Hook, str]]:
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.calls.append(({k: v for k, v in self.headers.items()}, body))
            self.send_response(hook.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook, f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        server.shutdown()
        server.server_close()


def routing(webhook_url: str = "http://127.0.0.1:9/hook") -> Routing:
    return Routing.model_validate(
        {
            "sites": {
                "MS-1": {
                    "roles": {
                        "qa-reviewer": [
                            {"channel": "email", "to": "qa-oncall@ms1.example"},
                            {"channel": "webhook", "to": "pager"},
                        ],
                        "qualified-person": [{"channel": "email", "to": "qp@ms1.example"}],
                    },
                    "treatment_center": [{"channel": "email", "to": "tc@hospital.example"}],
                },
                # a patient's own treatment center (QC knows it from custody's enrolment)
                "TC-1": {
                    "roles": {
                        "treating-physician": [{"channel": "email", "to": "dr@tc1.example"}],
                        "treatment-center-coordinator": [
                            {"channel": "email", "to": "coordinator@tc1.example"}
                        ],
                    }
                },
            },
            "people": {
                "u-sup": {"channel": "email", "to": "sam@ms1.example"},
                "u-analyst": {"channel": "email", "to": "ana@ms1.example"},
            },
            "webhooks": {"pager": {"url": webhook_url, "secret_env": PAGER_ENV, "timeout_s": 2}},
            "escalation": {
                "critical": {
                    "chain": ["qa-reviewer", "qualified-person"],
                    "acknowledge_within_s": WINDOW_S,
                }
            },
            "retry": {"max_attempts": 3, "backoff_s": 30, "max_backoff_s": 60},
        }
    )


def notifying_harness(
    tmp_path: Path,
    smtp_port: int,
    route: Routing,
    clock: StepClock | None = None,
    ids_prefix: str = "id",
) -> ServiceHarness:
    settings = QcSettings(database_url=ServiceHarness.sqlite_url(tmp_path, "qc"))
    mail = MailSettings(host="127.0.0.1", port=smtp_port, sender="qa@vein2vein.example")
    spec = build(
        settings,
        clock=clock or StepClock(tick=timedelta(seconds=1)),
        ids=SeqIds(ids_prefix),
        routing=route,
        mail=mail,
    )
    return ServiceHarness(spec, headers=READER)


def delivery(h: ServiceHarness) -> NotificationDelivery:
    [loop] = h.kit.spec.background
    return delivery_for(h.kit, loop.routing, loop.mail)  # type: ignore[attr-defined]


def payload(body: bytes) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(body)
    return out
