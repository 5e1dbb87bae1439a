"""Webhook deliveries: a JSON POST signed with HMAC-SHA256 over the exact body bytes.

Headers: ``V2V-Signature: sha256=<hex>`` (the HMAC of the body with the endpoint's secret),
``V2V-Delivery-Id`` (the attempt's key: receivers drop a repeat), ``V2V-Notification-Id``.
A non-2xx answer, a timeout or a connection error is a failed attempt (retried)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import httpx

from ...application.notification_delivery import Outgoing
from ...domain.notification_routing import Webhook

SIGNATURE_HEADER = "V2V-Signature"


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSender:
    def __init__(self, endpoints: dict[str, Webhook]) -> None:
        self.endpoints = endpoints

    async def send(self, name: str, message: Outgoing) -> tuple[bool, str]:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            return False, f"no webhook {name!r} configured"
        secret = os.environ.get(endpoint.secret_env)
        if not secret:
            return False, f"the webhook {name!r} has no secret ({endpoint.secret_env} not set)"
        body = json.dumps(message.payload, sort_keys=True, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(secret.encode(), body),
            "V2V-Delivery-Id": message.key,
            "V2V-Notification-Id": message.notification_id,
        }
        try:
            async with httpx.AsyncClient(timeout=endpoint.timeout_s) as http:
                r = await http.post(endpoint.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return False, f"not delivered to {name}: {type(exc).__name__}: {exc}"
        if not 200 <= r.status_code < 300:
            return False, f"webhook {name} answered {r.status_code}"
        return True, f"webhook {name} answered {r.status_code}"
