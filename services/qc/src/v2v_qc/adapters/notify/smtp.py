"""E-mail through the site's relay (standard library smtplib, in a thread), as the signing
security notice does. The attempt's key is the ``Message-ID``: a receiver (or the relay)
drops a repeat."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from ...application.notification_delivery import Outgoing
from .settings import MailSettings


class SmtpMailer:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    async def send(self, to: str, message: Outgoing) -> tuple[bool, str]:
        s = self.settings
        if s.host is None:
            return False, "no mail relay configured (V2V_SMTP_HOST)"
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = s.sender, to, message.subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<{message.key}@{s.message_id_domain}>"
        msg["X-V2V-Notification"] = message.notification_id
        msg.set_content(message.body)
        try:
            await asyncio.to_thread(self._send, msg)
        except (OSError, smtplib.SMTPException) as exc:
            return False, f"not delivered: {type(exc).__name__}: {exc}"
        return True, f"mailed to {to} via {s.host}:{s.port}"

    def _send(self, msg: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.host or "", s.port, timeout=s.timeout_s) as smtp:
            if s.starttls:
                smtp.starttls()
            if s.username and s.password is not None:
                smtp.login(s.username, s.password.get_secret_value())
            smtp.send_message(msg)
