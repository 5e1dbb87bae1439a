"""Telling the site's security contact, at once, of repeated signing failures (21 CFR
11.300(d)): an e-mail through the site's relay (standard library smtplib, in a thread)."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from typing import Protocol

from .settings import SigningSettings

log = logging.getLogger("v2v.signatures")


class SecurityNotifier(Protocol):
    async def notify(self, subject: str, body: str) -> tuple[bool, str]:
        """Deliver the notice; (delivered, detail) — a failed delivery is recorded, not raised."""
        ...


class SmtpNotifier:
    def __init__(self, host: str, port: int, sender: str, to: str, timeout_s: float = 10) -> None:
        self.host, self.port, self.sender, self.to, self.timeout_s = (
            host,
            port,
            sender,
            to,
            timeout_s,
        )

    async def notify(self, subject: str, body: str) -> tuple[bool, str]:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, self.to, subject
        msg.set_content(body)
        try:
            await asyncio.to_thread(self._send, msg)
        except (OSError, smtplib.SMTPException) as exc:
            log.error("security notice to %s not delivered: %s", self.to, exc)
            return False, f"not delivered: {exc}"
        return True, f"mailed to {self.to} via {self.host}:{self.port}"

    def _send(self, msg: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            smtp.send_message(msg)


class LogNotifier:
    """No relay configured: the notice goes to the log at ERROR (an alert rule should page on
    it; docs/operations.md). Recorded as not delivered."""

    def __init__(self, to: str | None) -> None:
        self.to = to

    async def notify(self, subject: str, body: str) -> tuple[bool, str]:
        log.error("SECURITY NOTICE (%s): %s\n%s", self.to or "no contact configured", subject, body)
        return False, "no mail relay configured (V2V_SIGNING_SMTP_HOST): logged at ERROR"


def notifier_for(settings: SigningSettings) -> SecurityNotifier:
    if settings.smtp_host and settings.security_contact:
        return SmtpNotifier(
            settings.smtp_host, settings.smtp_port, settings.smtp_sender, settings.security_contact
        )
    return LogNotifier(settings.security_contact)
