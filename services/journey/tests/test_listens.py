"""What the journey listens to is declared once (``listens.LISTENS_TO``): every event the
workflow waits for or looks at is declared, every declared event is waited for, and the
bridge forwards exactly those (and the enrolment that starts a journey). A forgotten entry
would leave a journey waiting silently until its deadline; here it fails CI."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from temporalio.client import Client

import v2v_journey
from v2v_events import REGISTRY, golden, to_kafka
from v2v_events.catalog import Service, events_topic
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.registry import Contract, Kind
from v2v_journey.bridge import FORWARDED, JourneyBridge, Outcome
from v2v_journey.listens import LISTENS_TO, STARTS_JOURNEY
from v2v_journey.model import JourneyPolicy
from v2v_journey.registrations.store import Registrations
from v2v_runtime.inbox import DeadLetters, IncomingRecord
from v2v_runtime.testing import RecordingPublisher

PACKAGE = Path(v2v_journey.__file__).parent
COI = "CHA1B2C26000123"


def expectations(source: str, namespace: Mapping[str, Any], where: str) -> Iterator[type[Any]]:
    """The contract of every ``Expect(...)`` in ``source``, resolved in ``namespace`` (the
    module's globals). The contract must be named directly, so none escapes this check."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name != "Expect":
            continue
        kinds = node.args[:1] + [k.value for k in node.keywords if k.arg == "kind"]
        assert len(kinds) == 1, f"{where}:{node.lineno}: Expect without a contract"
        kind = kinds[0]
        assert isinstance(kind, ast.Name), (
            f"{where}:{node.lineno}: name the contract in Expect directly (not an expression)"
        )
        yield namespace[kind.id]


def awaited_by_the_workflow() -> set[type[Any]]:
    found: set[type[Any]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        module = ".".join(["v2v_journey", *(p for p in rel.parts if p != "__init__")])
        source = path.read_text()
        if "Expect" not in source:
            continue
        namespace = vars(importlib.import_module(module))
        found.update(expectations(source, namespace, str(path.relative_to(PACKAGE))))
    return found


def test_the_workflow_waits_for_exactly_what_it_declares() -> None:
    awaited = awaited_by_the_workflow()
    names = {k.__name__ for k in awaited}
    assert names >= {"CollectionScheduled", "LotProduced", "RecoveryDecided"}  # it reads them
    undeclared = awaited - set(LISTENS_TO)
    assert not undeclared, f"waited for but not in LISTENS_TO: {undeclared}"
    unused = set(LISTENS_TO) - awaited
    assert not unused, f"in LISTENS_TO but never waited for: {unused}"


def test_a_wait_for_an_undeclared_event_is_found() -> None:
    """The reading above catches a new wait whose event is not declared."""
    source = "async def later(self):\n    await self._wait_any('x', due, Expect(PatientEnrolled))"
    found = set(expectations(source, {"PatientEnrolled": PatientEnrolled}, "new.py"))
    assert found == {PatientEnrolled}
    assert not found <= set(LISTENS_TO)
    with pytest.raises(AssertionError, match="directly"):
        list(expectations("Expect(kinds[0])", {}, "new.py"))


def test_the_journey_listens_to_other_services_events_only() -> None:
    assert len(set(LISTENS_TO)) == len(LISTENS_TO)
    for kind in (*LISTENS_TO, STARTS_JOURNEY):
        mt = REGISTRY.for_model(kind)
        assert mt.kind is Kind.EVENT, mt.name
        assert mt.owner is not Service.JOURNEY, mt.name
    assert STARTS_JOURNEY not in LISTENS_TO
    assert FORWARDED == LISTENS_TO


class Handle:
    def __init__(self, signals: list[tuple[str, str]], workflow_id: str) -> None:
        self._signals, self._id = signals, workflow_id

    async def signal(self, name: str, arg: Any) -> None:
        self._signals.append((self._id, name))


class SignalRecorder:
    """Stands in for the Temporal client: records every signal the bridge sends."""

    def __init__(self) -> None:
        self.signals: list[tuple[str, str]] = []

    def get_workflow_handle(self, workflow_id: str) -> Handle:
        return Handle(self.signals, workflow_id)


def sample(type_name: str, version: int) -> Contract:
    model = REGISTRY.get(type_name).model
    return model.model_validate(golden.load(type_name, version))


def as_record(message: Contract) -> IncomingRecord:
    mt = REGISTRY.for_model(type(message))
    env = REGISTRY.envelope(
        message, subject=COI, source="/t", id=f"id-{mt.name}", time=datetime.now(UTC)
    )
    rec = to_kafka(env)
    topic = events_topic(mt.owner)
    return IncomingRecord(topic, 0, 1, rec.key, rec.value, list(rec.headers))


@pytest.mark.parametrize(
    "type_name",
    sorted(
        mt.name
        for mt in REGISTRY
        if mt.kind is Kind.EVENT
        and mt.owner is not Service.JOURNEY
        and mt.model is not STARTS_JOURNEY
    ),
)
async def test_the_bridge_forwards_exactly_what_the_journey_listens_to(
    type_name: str, registrations: Registrations
) -> None:
    client = SignalRecorder()
    bridge = JourneyBridge(
        cast(Client, client),
        DeadLetters("v2v.journey.bridge", RecordingPublisher()),
        lambda _: JourneyPolicy(),
        registrations,
    )
    mt = REGISTRY.get(type_name)
    outcome = await bridge.process(as_record(sample(type_name, mt.version)))
    if mt.model in LISTENS_TO:
        assert outcome is Outcome.SIGNALLED
        assert client.signals == [(f"journey-{COI}", type_name.removeprefix("org.vein2vein."))]
    else:
        assert outcome is Outcome.IGNORED
        assert client.signals == []


def test_samples_cover_what_the_journey_listens_to() -> None:
    """Every declared event has a golden sample, so the bridge test above sends each."""
    for kind in LISTENS_TO:
        mt = REGISTRY.for_model(kind)
        assert isinstance(sample(mt.name, mt.version), kind)
