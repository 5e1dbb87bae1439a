"""Each journey as Temporal tells it: ended with its designed outcome, one run only, and
every event it listens to signalled — or skipped by the bridge because the journey had
already ended when the event reached it (the journey did not wait for it: e.g. a booking
confirmed while logistics' relay was down). Redeliveries are counted; the mailbox keeps
each event once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from v2v_cli.chaos.cohort import Journey
from v2v_cli.chaos.kafka_log import Record
from v2v_events import REGISTRY
from v2v_journey.listens import LISTENS_TO, STARTS_JOURNEY
from v2v_journey.model import workflow_id

FORWARDED = {REGISTRY.for_model(m).name for m in LISTENS_TO} | {
    REGISTRY.for_model(STARTS_JOURNEY).name
}
SKIPPED = "event for a closed journey skipped"  # v2v_journey.bridge's log line


@dataclass
class JourneyVerdict:
    as_designed: int = 0
    other_outcome: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)  # a journey run more than once
    lost: list[str] = field(default_factory=list)  # events never signalled to their journey
    signals: int = 0
    resignalled: int = 0  # the same event signalled again (kept once)
    after_end: int = 0  # reached the bridge once its journey had ended: skipped, logged


def bridge_skips(log_file: Path) -> set[str]:
    """Ids of the events the bridge skipped because their journey had ended (its log)."""
    skipped = set()
    with contextlib.suppress(OSError):
        for line in log_file.read_text(errors="replace").splitlines():
            if SKIPPED not in line:
                continue
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("message") == SKIPPED and entry.get("event_id"):
                    skipped.add(str(entry["event_id"]))
    return skipped


async def check_journeys(
    client: Client,
    journeys: Sequence[Journey],
    records: Sequence[Record],
    skipped: AbstractSet[str] = frozenset(),
    wait_s: float = 60.0,
) -> JourneyVerdict:
    verdict = JourneyVerdict()
    bridged: dict[str, list[Record]] = {}
    for r in records:
        if r.type in FORWARDED:
            bridged.setdefault(r.subject, []).append(r)
    for journey in journeys:
        name = f"#{journey.index} {journey.coi or '(not enrolled)'} {journey.design.name}"
        if journey.coi is None:
            verdict.stuck.append(f"{name}: {journey.error}")
            continue
        handle = client.get_workflow_handle(workflow_id(journey.coi))
        # A journey the driver completed ends at once; one it gave up on is not waited for.
        status, outcome = await _ending(handle, 1.0 if journey.error else wait_s)
        if status == "completed" and outcome == journey.design.outcome and not journey.error:
            verdict.as_designed += 1
        elif status in ("running", "unknown") or journey.error:
            last = journey.log[-1] if journey.log else ""
            verdict.stuck.append(
                f"{name}: {status}; driver: {journey.error or 'done'}; last: {last}"
            )
        else:
            verdict.other_outcome.append(
                f"{name}: {status} {outcome}, designed {journey.design.outcome}"
            )
        runs = [
            w async for w in client.list_workflows(f"WorkflowId = '{workflow_id(journey.coi)}'")
        ]
        if len(runs) > 1:
            verdict.doubled.append(f"{name}: {len(runs)} runs")
        await _signals(handle, bridged.get(journey.coi, []), skipped, name, verdict)
    return verdict


async def _ending(handle: WorkflowHandle[Any, Any], wait_s: float) -> tuple[str, str]:
    try:
        view = await asyncio.wait_for(handle.result(), wait_s)
        return str(view["status"]), str(view["outcome"])
    except WorkflowFailureError as exc:
        return "failed", str(exc.cause)
    except TimeoutError:
        return "running", ""
    except Exception as exc:
        return "unknown", f"{type(exc).__name__}: {exc}"


async def _signals(
    handle: WorkflowHandle[Any, Any],
    bridged: list[Record],
    skipped: AbstractSet[str],
    name: str,
    verdict: JourneyVerdict,
) -> None:
    history = await handle.fetch_history()
    seen: Counter[str] = Counter()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            payloads = event.workflow_execution_signaled_event_attributes.input.payloads
            if payloads:
                seen[str(json.loads(payloads[0].data).get("event_id", ""))] += 1
    verdict.signals += sum(seen.values())
    verdict.resignalled += sum(n - 1 for n in seen.values() if n > 1)
    for r in bridged:
        if r.id in seen:
            continue
        if r.id in skipped:
            verdict.after_end += 1
        else:
            verdict.lost.append(f"{name}: {r.type} {r.id} never signalled")
