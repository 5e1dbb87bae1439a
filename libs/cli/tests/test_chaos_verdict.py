"""The chaos run's verdict from its evidence: outbox rows against the topics, topics against
the inboxes, read models against a rebuild, the report and when it says OK."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from v2v_cli.chaos import report
from v2v_cli.chaos.chaos_platform import write_network
from v2v_cli.chaos.cohort import journey_at
from v2v_cli.chaos.faults import Fault, FaultKind
from v2v_cli.chaos.injector import FaultResult
from v2v_cli.chaos.journeys_check import SKIPPED, JourneyVerdict, _signals, bridge_skips
from v2v_cli.chaos.kafka_log import Record, behind
from v2v_cli.chaos.rebuild_check import differences
from v2v_cli.chaos.reconcile import Delivery, _inbox, _outbox
from v2v_logistics.adapters.config import load_network

LOT_PRODUCED = "org.vein2vein.batch.lot.produced"


def record(topic: str, message_id: str, type_: str = LOT_PRODUCED, offset: int = 0) -> Record:
    return Record(topic, 0, offset, message_id, type_, "batch", "COI1", "2026-11-30T00:00:00Z")


def test_an_outbox_row_marked_published_but_not_on_its_topic_is_lost() -> None:
    found = Delivery()
    rows = [
        ("m1", "v2v.batch.events", "COI1", "2026-11-30"),
        ("m2", "v2v.batch.events", "COI1", "2026-11-30"),
        ("m3", "v2v.batch.events", "COI2", None),
    ]
    _outbox("batch", rows, Counter({("v2v.batch.events", "m1"): 1}), found)
    assert (found.outbox, found.published) == (3, 1)
    assert found.lost == [
        "batch outbox m2: marked published, not on v2v.batch.events",
        "batch outbox m3 (v2v.batch.events): never published",
    ]


def test_on_a_compacted_topic_only_the_newest_record_of_a_key_must_remain() -> None:
    found = Delivery()
    seals = "v2v.batch.seals"
    rows = [(f"s{i}", seals, "batch", "2026-11-30") for i in range(3)]
    _outbox("batch", rows, Counter({(seals, "s2"): 1}), found)
    assert (found.published, found.lost) == (3, [])
    found = Delivery()
    _outbox("batch", rows, Counter({(seals, "s0"): 1}), found)
    assert found.lost == ["batch outbox s2: marked published, not on v2v.batch.seals"]


def test_each_record_a_consumer_applies_is_in_its_inbox() -> None:
    found = Delivery()
    records = [
        record("v2v.batch.events", "e1"),
        record("v2v.batch.events", "e2"),
        record("v2v.batch.events", "e3"),
        record("v2v.batch.events", "other", type_="org.vein2vein.batch.material-lot.released"),
        record("v2v.batch.seals", "not-mine"),  # a topic QC does not read
    ]
    inbox = [("e1", "processed", None), ("e2", "dead_lettered", "Traceback\nValueError: bad")]
    _inbox("qc", inbox, records, found)
    assert (found.to_consume, found.applied) == (3, 1)
    assert found.dead_letters == [f"v2v.qc.inbox: {LOT_PRODUCED} e2: ValueError: bad"]
    assert found.lost == [f"v2v.batch.events {LOT_PRODUCED} e3 never in v2v.qc.inbox's inbox"]


def test_an_inbox_row_of_a_message_on_none_of_its_topics_is_named() -> None:
    found = Delivery()
    _inbox("qc", [("ghost", "processed", None)], [], found)
    assert found.lost == ["v2v.qc.inbox's inbox names ghost, which is on none of its topics"]


def test_a_group_is_behind_by_what_it_has_not_committed() -> None:
    a0, a1, other = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)
    ends = {a0: 10, a1: 5, other: 7}
    assert behind(ends, {a0: 10, a1: 2}, ["a"]) == 3
    assert behind(ends, {}, ["a", "b"]) == 22


def test_read_models_differing_from_a_rebuild_are_shown_by_table() -> None:
    live = {"units": Counter({"u1": 1, "u2": 1}), "lots": Counter({"l1": 1})}
    rebuilt = {"units": Counter({"u1": 1, "u3": 1}), "lots": Counter({"l1": 1})}
    (found,) = differences("custody", live, rebuilt)
    assert found.startswith("custody.units: 1 live row(s) not rebuilt, 1 rebuilt row(s) not live")
    assert differences("custody", live, live) == []


def test_the_chaos_network_has_the_reference_sites_with_room_for_a_cohort(tmp_path: Path) -> None:
    network = load_network(write_network(tmp_path / "network.json", slots_per_day=15))
    reference = load_network()
    assert network.config_version == f"{reference.config_version}-chaos"
    assert set(network.treatment_centers) == set(reference.treatment_centers)
    assert {c.infusion_slots_per_day for c in network.treatment_centers.values()} == {15}
    assert {s.slots_per_day for s in network.manufacturing_sites.values()} == {15}


def result(kind: FaultKind, ready: float | None = 2.0, working: float | None = 3.0) -> FaultResult:
    return FaultResult(Fault(kind, kind.value, 1.0), 10.0, ready, working, 0)


def build(results: list[FaultResult], verdict: JourneyVerdict, lost: list[str]) -> report.Report:
    journeys = [journey_at(1, "T", date(2026, 11, 30), i) for i in range(3)]
    for j in journeys:
        j.started, j.ended = 0.0, 10.0 + j.index
    return report.build(
        seed=1,
        concurrency=2,
        seconds=60.0,
        results=results,
        journeys=journeys,
        verdict=verdict,
        delivery=Delivery(lost=lost),
        read_model_rows=10,
        read_model_diffs=[],
        not_quiet=[],
    )


def test_the_report_is_ok_only_with_every_kind_and_nothing_lost_doubled_or_stuck() -> None:
    every = [result(kind) for kind in FaultKind]
    ok = build(every, JourneyVerdict(as_designed=3), [])
    assert ok.ok and ok.verdict["lost"] == 0
    assert {k.kind: k.injected for k in ok.faults} == {k.value: 1 for k in FaultKind}
    assert ok.journey_seconds == {"median": 12.0, "max": 13.0, "p95": 13.0}
    assert json.loads(json.dumps(ok.to_json()))["ok"] is True
    assert not build(every[1:], JourneyVerdict(as_designed=3), []).ok  # a kind not injected
    assert not build(every, JourneyVerdict(as_designed=3), ["x"]).ok
    assert not build(every, JourneyVerdict(as_designed=2, stuck=["#3"]), []).ok
    first = every[0].fault.kind
    not_ready = build([*every[1:], result(first, ready=None)], JourneyVerdict(as_designed=3), [])
    assert not not_ready.ok and not_ready.verdict["fault not recovered"] == 1
    idle = build([*every[1:], result(first, working=None)], JourneyVerdict(as_designed=3), [])
    assert not idle.ok and idle.findings["faults"] == [
        f"{first.value}: ready, but none of its work moved on"
    ]


def test_the_bridge_log_names_the_events_it_skipped_for_ended_journeys(tmp_path: Path) -> None:
    skip = {"message": SKIPPED, "coi": "C1", "event_id": "e2", "level": "INFO"}
    other = {"message": "journey started", "coi": "C1", "event_id": "e1"}
    log = tmp_path / "journey-bridge.log"
    log.write_text(
        "\n".join(["journey ready: roles ['bridge']", json.dumps(other), json.dumps(skip)])
    )
    assert bridge_skips(log) == {"e2"}
    assert bridge_skips(tmp_path / "missing.log") == set()


class History:
    """A workflow history of signals, each carrying its event's id."""

    def __init__(self, *event_ids: str) -> None:
        self.events = []
        for event_id in event_ids:
            event = HistoryEvent(event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
            payload = event.workflow_execution_signaled_event_attributes.input.payloads.add()
            payload.data = json.dumps({"event_id": event_id}).encode()
            self.events.append(event)

    async def fetch_history(self) -> History:
        return self


async def test_an_event_neither_signalled_nor_skipped_for_an_ended_journey_is_lost() -> None:
    verdict = JourneyVerdict()
    bridged = [record("v2v.logistics.events", i) for i in ("e1", "e2", "e3")]
    handle: Any = History("e1", "e1")
    await _signals(handle, bridged, {"e2"}, "#1", verdict)
    assert (verdict.signals, verdict.resignalled, verdict.after_end) == (2, 1, 1)
    assert verdict.lost == [f"#1: {LOT_PRODUCED} e3 never signalled"]
