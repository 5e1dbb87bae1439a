"""The delivery loop as a background task of the service (run with the outbox relay: one
per database): every ``interval`` it escalates and delivers what is due."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from v2v_runtime.service import ServiceKit

from ...application.notification_delivery import NotificationDelivery
from ...domain.notification_routing import Routing
from .channels import DeliveryChannels
from .settings import MailSettings
from .smtp import SmtpMailer
from .webhook import WebhookSender

log = logging.getLogger("v2v.qc.notifications")


def delivery_for(kit: ServiceKit, routing: Routing, mail: MailSettings) -> NotificationDelivery:
    channels = DeliveryChannels(SmtpMailer(mail), WebhookSender(routing.webhooks))
    return NotificationDelivery(kit.uow, channels, routing)


class DeliveryLoop:
    def __init__(self, routing: Routing, mail: MailSettings, interval_s: float) -> None:
        self.routing = routing
        self.mail = mail
        self.interval_s = interval_s

    async def __call__(self, kit: ServiceKit, stop: asyncio.Event) -> None:
        delivery = delivery_for(kit, self.routing, self.mail)
        log.info("notification delivery started", extra={"interval_s": self.interval_s})
        while not stop.is_set():
            try:
                await delivery.run_once()
            except Exception:  # a broken round must not end the loop: the next one retries
                log.exception("notification delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval_s)
