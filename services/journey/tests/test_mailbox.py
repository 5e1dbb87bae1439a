"""The journey's mailbox on its own: no Temporal, no workflow."""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from v2v_events import REGISTRY
from v2v_events.contracts.batch import RemanufactureRefused
from v2v_events.contracts.logistics import CollectionUnschedulable
from v2v_events.registry import Contract
from v2v_journey.mailbox import Expect, Mailbox

COI = "CHA1B2C26000123"


@dataclass(frozen=True)
class Event:
    """An event as the bridge hands it over (the shape of ``JourneySignal``)."""

    type: str
    data: dict[str, Any]
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def event(message: Contract, event_id: str | None = None) -> Event:
    name = REGISTRY.for_model(type(message)).name
    return Event(name, message.model_dump(mode="json"), event_id or str(uuid.uuid4()))


def unschedulable(attempt: int = 1, reason: str = "no slot") -> CollectionUnschedulable:
    return CollectionUnschedulable(
        coi=COI,
        manufacturing_site="site-1",
        searched_from=date(2026, 12, 1),
        searched_until=date(2026, 12, 31),
        reason=reason,
        attempt=attempt,
    )


def refused(attempt: int = 2) -> RemanufactureRefused:
    return RemanufactureRefused(
        coi=COI, previous_lot_id="LOT-1", reason="no retained material", attempt=attempt
    )


def test_an_event_delivered_again_is_kept_once() -> None:
    box = Mailbox()
    first = event(unschedulable(), "e-1")
    assert box.receive(first)
    assert not box.receive(first)
    assert box.take(Expect(CollectionUnschedulable)) == unschedulable()
    assert not box.receive(first)  # a late redelivery does not bring it back
    assert box.take(Expect(CollectionUnschedulable)) is None


def test_take_uses_up_the_oldest_matching_event() -> None:
    box = Mailbox()
    for reason in ("first", "second"):
        box.receive(event(unschedulable(reason=reason)))
    wanted = Expect(CollectionUnschedulable)
    assert [box.take(wanted), box.take(wanted), box.take(wanted)] == [
        unschedulable(reason="first"),
        unschedulable(reason="second"),
        None,
    ]


def test_a_predicate_leaves_other_events_for_later() -> None:
    box = Mailbox()
    box.receive(event(unschedulable(attempt=1)))
    box.receive(event(unschedulable(attempt=2)))
    assert box.take(Expect(CollectionUnschedulable, lambda m: m.attempt == 2)) == unschedulable(2)
    assert box.take(Expect(CollectionUnschedulable, lambda m: m.attempt == 2)) is None
    assert box.take(Expect(CollectionUnschedulable)) == unschedulable(1)


def test_with_several_expectations_the_oldest_event_wins() -> None:
    box = Mailbox()
    box.receive(event(refused()))
    box.receive(event(unschedulable()))
    taken = box.take(Expect(CollectionUnschedulable), Expect(RemanufactureRefused))
    assert taken == refused()
    assert box.take(Expect(RemanufactureRefused)) is None


def test_latest_looks_at_the_newest_matching_event_used_or_not() -> None:
    box = Mailbox()
    for attempt in (1, 2, 3):
        box.receive(event(unschedulable(attempt)))
    assert box.take(Expect(CollectionUnschedulable)) == unschedulable(1)
    newest = box.latest(Expect(CollectionUnschedulable))
    assert newest == unschedulable(3)
    assert box.latest(Expect(CollectionUnschedulable, lambda m: m.attempt < 3)) == unschedulable(2)
    assert box.latest(Expect(RemanufactureRefused)) is None
    assert box.take(Expect(CollectionUnschedulable)) == unschedulable(2)  # nothing used up


def test_events_of_other_types_are_not_read() -> None:
    box = Mailbox()
    box.receive(Event("org.vein2vein.custody.patient.enrolled", {"not": "decodable here"}))
    box.receive(event(refused()))
    assert box.take(Expect(CollectionUnschedulable)) is None
    assert box.peek(Expect(CollectionUnschedulable)) is None
    assert box.take(Expect(RemanufactureRefused)) == refused()


def test_peek_looks_without_using_and_never_sees_used_events() -> None:
    box = Mailbox()
    box.receive(event(refused(attempt=2)))
    box.receive(event(refused(attempt=3)))
    wanted = Expect(RemanufactureRefused)
    assert box.peek(wanted) == refused(2)
    assert box.peek(wanted) == refused(2)
    assert box.take(wanted) == refused(2)
    assert box.peek(wanted) == refused(3)
    assert box.peek(Expect(RemanufactureRefused, lambda m: m.attempt == 4)) is None


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3)), max_size=30))
def test_each_event_is_taken_once_in_arrival_order(deliveries: list[tuple[int, int]]) -> None:
    """Deliveries of (event id, attempt), ids possibly repeated as the bridge may: taking
    until empty yields each event once, in the order it first arrived."""
    box = Mailbox()
    first_seen: dict[str, int] = {}
    for number, attempt in deliveries:
        event_id = f"e-{number}"
        first_seen.setdefault(event_id, attempt)
        box.receive(event(unschedulable(attempt=attempt), event_id))
    taken = []
    while (got := box.take(Expect(CollectionUnschedulable))) is not None:
        assert isinstance(got, CollectionUnschedulable)
        taken.append(got.attempt)
    assert taken == list(first_seen.values())


def test_the_mailbox_needs_no_temporal() -> None:
    """Imported in a fresh interpreter, the mailbox and the declaration of what the journey
    listens to load nothing of Temporal (or any I/O library)."""
    heavy = ("temporalio", "sqlalchemy", "aiokafka", "fastapi", "opentelemetry")
    code = (
        "import sys, v2v_journey.mailbox, v2v_journey.listens; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
