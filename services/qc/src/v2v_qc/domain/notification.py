"""A notification: a message the quality unit sends to people, delivered (e-mail or webhook)
to each recipient with retries, and — when it must be acknowledged — escalated along its
chain of roles while nobody acknowledges it within the window.

Level 0 is the first set of recipients (the first role of the chain, plus the people on the
deviation and the treatment center); level n the chain's n-th role. Each level's window
starts when it is told. The clock is the caller's (``now``): pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict

from .common import Forbidden, Who
from .notification_events import (
    DeliveryAttempted,
    EscalationExhausted,
    NotificationAcknowledged,
    NotificationEscalated,
    NotificationRaised,
    Trigger,
)
from .notification_routing import Recipient, Retry, Routing


def notification_stream(notification_id: str) -> str:
    return f"notification-{notification_id}"


class NotificationState(StrEnum):
    INFORMATIONAL = "informational"  # nothing to acknowledge
    AWAITING = "awaiting-acknowledgement"
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"  # the chain exhausted


class DeliveryState(StrEnum):
    PENDING = "pending"  # not tried yet, or failed and retried later
    SENT = "sent"
    FAILED = "failed"  # every attempt failed


@dataclass
class Delivery:
    level: int
    index: int
    recipient: Recipient
    due_at: datetime | None  # the next attempt
    attempts: int = 0
    state: DeliveryState = DeliveryState.PENDING
    detail: str = ""

    @property
    def key(self) -> str:
        """Stable per recipient and attempt: receivers de-duplicate on it (a redelivery
        after a crash repeats the key of the attempt it repeats)."""
        return f"{self.level}.{self.index}.{self.attempts + 1}"


@dataclass(frozen=True)
class Level:
    number: int
    role: str | None
    recipients: list[Recipient]
    started_at: datetime
    acknowledge_by: datetime | None


class Notification(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.raised: NotificationRaised | None = None
        self.levels: list[Level] = []
        self.deliveries: list[Delivery] = []
        self.acknowledged: NotificationAcknowledged | None = None
        self.exhausted: EscalationExhausted | None = None

    # -- commands --------------------------------------------------------------------------

    @classmethod
    def raise_(
        cls,
        notification_id: str,
        *,
        trigger: Trigger,
        subject: str,
        body: str,
        recipients: list[Recipient],
        by: Who,
        at: datetime,
        chain: list[str] | None = None,
        window: timedelta | None = None,
        deviation_id: str | None = None,
        coi: str | None = None,
        site: str | None = None,
    ) -> Notification:
        """A notification; with a ``chain`` (and its ``window``) it must be acknowledged."""
        if chain and window is None:
            raise ValueError("a notification with an escalation chain needs its window")
        n = cls(notification_stream(notification_id))
        n._record(
            NotificationRaised(
                notification_id=notification_id,
                trigger=trigger,
                deviation_id=deviation_id,
                coi=coi,
                site=site,
                subject=subject,
                body=body,
                chain=list(chain or []),
                window_s=None if not chain or window is None else window.total_seconds(),
                recipients=recipients,
                raised_at=at,
                raised_by=by,
                acknowledge_by=at + window if chain and window is not None else None,
            )
        )
        return n

    def record_attempt(
        self, delivery: Delivery, sent: bool, detail: str, at: datetime, retry: Retry
    ) -> DeliveryAttempted:
        attempt = delivery.attempts + 1
        wait = None if sent else retry.delay(attempt)
        event = DeliveryAttempted(
            notification_id=self.info.notification_id,
            level=delivery.level,
            index=delivery.index,
            attempt=attempt,
            sent=sent,
            detail=detail[:2000],
            attempted_at=at,
            next_attempt_at=None if wait is None else at + wait,
        )
        self._record(event)
        return event

    def escalate_if_due(self, now: datetime, routing: Routing) -> DomainEvent | None:
        """Past the window unacknowledged: tell the chain's next role (or record that none
        is left). None when nothing is due."""
        due = self.acknowledge_by
        if due is None or now < due:
            return None
        info = self.info
        level = self.level + 1
        event: DomainEvent
        if level >= len(info.chain):
            event = EscalationExhausted(
                notification_id=info.notification_id, level=self.level, exhausted_at=now
            )
        else:
            role = info.chain[level]
            event = NotificationEscalated(
                notification_id=info.notification_id,
                level=level,
                role=role,
                recipients=routing.role_at(role, info.site),
                escalated_at=now,
                acknowledge_by=now + timedelta(seconds=info.window_s or 0),
            )
        self._record(event)
        return event

    def acknowledge(
        self, by: Who, roles: frozenset[str], at: datetime, note: str | None = None
    ) -> NotificationAcknowledged:
        """Acknowledged by someone holding a role it was sent to so far (the site is the
        caller's check)."""
        if not self.info.chain:
            raise Conflict(
                "notification-not-acknowledgeable", f"notification {self.id} is informational"
            )
        if self.acknowledged is not None:
            raise Conflict(
                "notification-already-acknowledged",
                f"notification {self.id} was acknowledged at "
                f"{self.acknowledged.acknowledged_at.isoformat()}",
            )
        told = self.roles_told
        if not roles & set(told):
            raise Forbidden(
                "not-a-recipient",
                f"notification {self.id} is acknowledged by a role it was sent to "
                f"({', '.join(told)})",
                allowed_roles=told,
            )
        event = NotificationAcknowledged(
            notification_id=self.info.notification_id,
            acknowledged_by=by,
            acknowledged_at=at,
            level=self.level,
            note=note,
        )
        self._record(event)
        return event

    # -- state -----------------------------------------------------------------------------

    @property
    def info(self) -> NotificationRaised:
        if self.raised is None:
            raise RuntimeError("notification not raised")
        return self.raised

    @property
    def level(self) -> int:
        return len(self.levels) - 1

    @property
    def roles_told(self) -> list[str]:
        return [lv.role for lv in self.levels if lv.role is not None]

    @property
    def state(self) -> NotificationState:
        if not self.info.chain:
            return NotificationState.INFORMATIONAL
        if self.acknowledged is not None:
            return NotificationState.ACKNOWLEDGED
        if self.exhausted is not None:
            return NotificationState.UNACKNOWLEDGED
        return NotificationState.AWAITING

    @property
    def acknowledge_by(self) -> datetime | None:
        """When the current level's window ends (None: nothing awaits acknowledgement)."""
        if self.state is not NotificationState.AWAITING:
            return None
        return self.levels[-1].acknowledge_by

    def delivery(self, level: int, index: int) -> Delivery:
        return next(d for d in self.deliveries if (d.level, d.index) == (level, index))

    def deliveries_due(self, now: datetime) -> list[Delivery]:
        return [
            d
            for d in self.deliveries
            if d.state is DeliveryState.PENDING and d.due_at is not None and d.due_at <= now
        ]

    def apply(self, event: DomainEvent) -> None:
        match event:
            case NotificationRaised():
                self.raised = event
                role = event.chain[0] if event.chain else None
                self._level(0, role, event.recipients, event.raised_at, event.acknowledge_by)
            case NotificationEscalated():
                self._level(
                    event.level, event.role, event.recipients, event.escalated_at,
                    event.acknowledge_by,
                )  # fmt: skip
            case DeliveryAttempted():
                d = self.delivery(event.level, event.index)
                d.attempts = event.attempt
                d.detail = event.detail
                d.due_at = event.next_attempt_at
                d.state = (
                    DeliveryState.SENT
                    if event.sent
                    else DeliveryState.PENDING
                    if event.next_attempt_at is not None
                    else DeliveryState.FAILED
                )
            case EscalationExhausted():
                self.exhausted = event
            case NotificationAcknowledged():
                self.acknowledged = event

    def _level(
        self,
        number: int,
        role: str | None,
        recipients: list[Recipient],
        at: datetime,
        acknowledge_by: datetime | None,
    ) -> None:
        self.levels.append(Level(number, role, recipients, at, acknowledge_by))
        self.deliveries += [Delivery(number, i, r, at) for i, r in enumerate(recipients)]
