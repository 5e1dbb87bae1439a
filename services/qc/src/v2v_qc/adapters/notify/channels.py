"""``Channels`` (application.notification_delivery): e-mail or webhook by the recipient."""

from __future__ import annotations

from ...application.notification_delivery import Outgoing
from ...domain.notification_routing import Channel, Recipient
from .smtp import SmtpMailer
from .webhook import WebhookSender


class DeliveryChannels:
    def __init__(self, mail: SmtpMailer, webhooks: WebhookSender) -> None:
        self.mail = mail
        self.webhooks = webhooks

    async def send(self, recipient: Recipient, message: Outgoing) -> tuple[bool, str]:
        if recipient.channel is Channel.EMAIL:
            return await self.mail.send(recipient.to, message)
        return await self.webhooks.send(recipient.to, message)
