"""The notification's rules without I/O: routing of recipients, retry backoff, escalation
timing (an injected clock), exhaustion of the chain, and who may acknowledge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from v2v_qc.adapters.config import load_routing
from v2v_qc.domain.common import Forbidden, Who
from v2v_qc.domain.notification import DeliveryState, Notification, NotificationState
from v2v_qc.domain.notification_events import (
    EscalationExhausted,
    NotificationEscalated,
    Trigger,
)
from v2v_qc.domain.notification_routing import Channel, Recipient, Retry, Routing, distinct
from v2v_runtime.errors import Conflict

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=30)
SYSTEM = Who(user_id="qc-evaluator", role="system")

ROUTING = Routing.model_validate(
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
            }
        },
        "people": {"u-sup": {"channel": "email", "to": "sam@ms1.example"}},
        "webhooks": {"pager": {"url": "https://pager.example/hook", "secret_env": "PAGER_KEY"}},
        "escalation": {
            "critical": {"chain": ["qa-reviewer", "qualified-person"], "acknowledge_within_s": 1800}
        },
    }
)


def critical(at: datetime = T0) -> Notification:
    n = Notification.raise_(
        "n-1",
        trigger=Trigger.DEVIATION_CRITICAL,
        subject="CRITICAL deviation d-1",
        body="deviation d-1",
        recipients=ROUTING.role_at("qa-reviewer", "MS-1"),
        by=SYSTEM,
        at=at,
        chain=["qa-reviewer", "qualified-person"],
        window=WINDOW,
        deviation_id="d-1",
        site="MS-1",
    )
    n._mark_saved()
    return n


def test_routing_resolves_roles_treatment_center_and_people_per_site() -> None:
    assert [(r.channel, r.to, r.reason) for r in ROUTING.role_at("qa-reviewer", "MS-1")] == [
        (Channel.EMAIL, "qa-oncall@ms1.example", "qa-reviewer"),
        (Channel.WEBHOOK, "pager", "qa-reviewer"),
    ]
    assert ROUTING.role_at("qa-reviewer", "MS-2") == []  # another site: nobody routed
    assert ROUTING.role_at("qa-reviewer", None) == []
    assert [r.to for r in ROUTING.treatment_center_of("MS-1")] == ["tc@hospital.example"]
    assert [r.to for r in ROUTING.person("u-sup", "opened it")] == ["sam@ms1.example"]
    assert ROUTING.person("u-unknown", "opened it") == []
    twice = [*ROUTING.role_at("qa-reviewer", "MS-1"), *ROUTING.role_at("qa-reviewer", "MS-1")]
    assert len(distinct(twice)) == 2


def test_a_webhook_used_but_not_declared_is_refused() -> None:
    with pytest.raises(ValidationError, match="not declared"):
        Routing.model_validate(
            {"sites": {"MS-1": {"roles": {"qa-reviewer": [{"channel": "webhook", "to": "x"}]}}}}
        )


def test_the_packaged_routing_routes_to_nobody_and_escalates_critical_in_30_minutes() -> None:
    packaged = load_routing()
    assert packaged.sites == {} and packaged.people == {}
    assert packaged.escalation["critical"].chain == ["qa-reviewer", "qualified-person"]
    assert packaged.escalation["critical"].window == timedelta(minutes=30)


def test_retries_back_off_doubling_up_to_the_cap_and_give_up_at_the_last_attempt() -> None:
    retry = Retry(max_attempts=4, backoff_s=10, max_backoff_s=25)
    assert [retry.delay(n) for n in (1, 2, 3, 4)] == [
        timedelta(seconds=10),
        timedelta(seconds=20),
        timedelta(seconds=25),
        None,
    ]


def test_a_failed_delivery_is_retried_after_its_backoff_then_given_up() -> None:
    n = critical()
    retry = Retry(max_attempts=2, backoff_s=60)
    mail = n.deliveries_due(T0)[0]
    n.record_attempt(mail, False, "connection refused", T0, retry)
    assert n.deliveries_due(T0 + timedelta(seconds=59)) == [n.delivery(0, 1)]  # the webhook
    assert mail in n.deliveries_due(T0 + timedelta(seconds=60))
    n.record_attempt(n.delivery(0, 0), False, "connection refused", T0, retry)
    assert n.delivery(0, 0).state is DeliveryState.FAILED
    assert n.delivery(0, 0).attempts == 2
    n.record_attempt(n.delivery(0, 1), True, "200", T0, retry)
    assert n.delivery(0, 1).state is DeliveryState.SENT
    assert n.deliveries_due(T0 + timedelta(days=1)) == []


def test_unacknowledged_past_the_window_escalates_to_the_next_role_then_exhausts() -> None:
    n = critical()
    assert n.escalate_if_due(T0 + WINDOW - timedelta(seconds=1), ROUTING) is None
    up = n.escalate_if_due(T0 + WINDOW, ROUTING)
    assert isinstance(up, NotificationEscalated)
    assert (up.level, up.role) == (1, "qualified-person")
    assert [r.to for r in up.recipients] == ["qp@ms1.example"]
    assert up.acknowledge_by == T0 + 2 * WINDOW  # the window starts again with the next role
    due = [d.recipient.to for d in n.deliveries_due(T0 + WINDOW) if d.level == 1]
    assert due == ["qp@ms1.example"]
    assert n.roles_told == ["qa-reviewer", "qualified-person"]
    assert n.escalate_if_due(T0 + 2 * WINDOW - timedelta(seconds=1), ROUTING) is None
    last = n.escalate_if_due(T0 + 2 * WINDOW, ROUTING)
    assert isinstance(last, EscalationExhausted) and last.level == 1
    assert n.state is NotificationState.UNACKNOWLEDGED
    assert n.escalate_if_due(T0 + 10 * WINDOW, ROUTING) is None  # recorded once


def test_an_acknowledged_notification_does_not_escalate() -> None:
    n = critical()
    qa = Who(user_id="u-qa", role="qa-reviewer")
    n.acknowledge(qa, frozenset({"qa-reviewer"}), T0 + timedelta(minutes=5), "on it")
    assert n.state is NotificationState.ACKNOWLEDGED
    assert n.escalate_if_due(T0 + 5 * WINDOW, ROUTING) is None
    with pytest.raises(Conflict):
        n.acknowledge(qa, frozenset({"qa-reviewer"}), T0 + timedelta(minutes=6))


def test_only_a_role_it_was_sent_to_acknowledges() -> None:
    n = critical()
    qp = Who(user_id="u-qp", role="qualified-person")
    with pytest.raises(Forbidden):  # not told yet: the chain has not reached the QP
        n.acknowledge(qp, frozenset({"qualified-person"}), T0)
    n.escalate_if_due(T0 + WINDOW, ROUTING)
    n.acknowledge(qp, frozenset({"qualified-person"}), T0 + WINDOW)  # told now
    assert n.acknowledged is not None and n.acknowledged.level == 1


def test_an_informational_notification_is_not_acknowledged_and_never_escalates() -> None:
    n = Notification.raise_(
        "n-2",
        trigger=Trigger.DEVIATION_OPENED,
        subject="deviation d-2 opened",
        body="deviation d-2",
        recipients=[Recipient(channel=Channel.EMAIL, to="sam@ms1.example", reason="opener")],
        by=SYSTEM,
        at=T0,
    )
    assert n.state is NotificationState.INFORMATIONAL
    assert n.escalate_if_due(T0 + timedelta(days=30), ROUTING) is None
    with pytest.raises(Conflict):
        n.acknowledge(Who(user_id="u-qa", role="qa-reviewer"), frozenset({"qa-reviewer"}), T0)


def test_replaying_its_events_gives_the_same_state() -> None:
    n = Notification.raise_(
        "n-3",
        trigger=Trigger.DEVIATION_CRITICAL,
        subject="s",
        body="b",
        recipients=ROUTING.role_at("qa-reviewer", "MS-1"),
        by=SYSTEM,
        at=T0,
        chain=["qa-reviewer", "qualified-person"],
        window=WINDOW,
        site="MS-1",
    )
    n.record_attempt(n.delivery(0, 0), True, "sent", T0, ROUTING.retry)
    n.escalate_if_due(T0 + WINDOW, ROUTING)
    again = Notification.replay(n.id, n.pending)
    assert again.roles_told == n.roles_told
    assert [(d.state, d.attempts) for d in again.deliveries] == [
        (d.state, d.attempts) for d in n.deliveries
    ]
    assert again.acknowledge_by == n.acknowledge_by
