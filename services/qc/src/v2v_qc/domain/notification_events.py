"""Domain events of a notification (stream ``notification-<id>``): raised with its first
recipients, each delivery attempt and its outcome, escalated to the next role of its chain
when unacknowledged in time (or the chain exhausted), acknowledged."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from v2v_runtime.domain import DomainEvent

from .common import Who
from .notification_routing import Recipient


class Trigger(StrEnum):
    DEVIATION_OPENED = "deviation-opened"  # informational: the people on it, QA of the site
    DEVIATION_CRITICAL = "deviation-critical"  # opened or classified critical: acknowledged
    # a conditionally released lot's pending result failed: the treatment center and the
    # treating physician are told at once (acknowledged, the critical chain)
    CONDITIONAL_RELEASE_FAILED = "conditional-release-failed"
    # the journey waits for people's recovery decision past its deadline: the decision's
    # chain is told (acknowledged; unacknowledged, the next role in the chain)
    RECOVERY_DECISION_OVERDUE = "recovery-decision-overdue"


class NotificationRaised(DomainEvent):
    kind = "notification.raised"

    notification_id: str
    trigger: Trigger
    deviation_id: str | None = None
    coi: str | None = None
    site: str | None = None
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=8000)
    # The escalation chain (roles, in turn) and each level's window; empty: informational.
    chain: list[str] = Field(default_factory=list)
    window_s: float | None = None
    recipients: list[Recipient]
    raised_at: datetime
    raised_by: Who
    acknowledge_by: datetime | None = None


class DeliveryAttempted(DomainEvent):
    """One attempt to deliver to one recipient of a level (``index`` in its recipients)."""

    kind = "notification.delivery-attempted"

    notification_id: str
    level: int
    index: int
    attempt: int
    sent: bool
    detail: str = Field(max_length=2000)
    attempted_at: datetime
    next_attempt_at: datetime | None = None  # failed, retried then; None: sent or given up


class NotificationEscalated(DomainEvent):
    """Unacknowledged when the window passed: the next role of the chain is told."""

    kind = "notification.escalated"

    notification_id: str
    level: int
    role: str
    recipients: list[Recipient]
    escalated_at: datetime
    acknowledge_by: datetime


class EscalationExhausted(DomainEvent):
    """Unacknowledged when the last role's window passed: nobody is left to tell."""

    kind = "notification.escalation-exhausted"

    notification_id: str
    level: int
    exhausted_at: datetime


class NotificationAcknowledged(DomainEvent):
    kind = "notification.acknowledged"

    notification_id: str
    acknowledged_by: Who
    acknowledged_at: datetime
    level: int  # the level reached when it was acknowledged
    note: str | None = None


NOTIFICATION_EVENTS: tuple[type[DomainEvent], ...] = (
    NotificationRaised,
    DeliveryAttempted,
    NotificationEscalated,
    EscalationExhausted,
    NotificationAcknowledged,
)
