"""Journey cohort: N straight journeys on the demo product, through the HTTP APIs only.

    uv run --frozen python -m bench.cohort [--n 100] [--drivers 25] [--db sqlite|postgresql]

On the real platform, N patients are enrolled (8 at a time, sites taken in turn, earliest
collection today, as the demo's), then each journey is walked as the people would
(``v2v_cli.journeys.Driver``: collection, courier, manufacturing, QC, QA release, shipment,
infusion), ``--drivers`` journeys at a time. Each journey's outcome is Temporal's:
completed; failed (the workflow failed, or the walk broke off because an API refused a step
or the journey had given up on it after a deadline; the reason is printed); lost (no journey
started, a step both sides waited for never came, or still running at the deadline).
Doubled: a command applied twice — more than one live booking of a kind, shipment of a
direction, or batch, for one CoI and attempt.
Also reported: how fast journeys start (bridge → Temporal; Temporal's start times against the
enrolments), how long the enrolments took to reach logistics (its first answer on its
events topic), and time to completion. The goal (from the issue) has no baseline: 0 failed,
0 lost, 0 doubled; ``ours`` is the number completed, ``baseline`` the number enrolled.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from temporalio.client import Client, WorkflowFailureError, WorkflowQueryFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from v2v_cli.journeys import Driver, Endpoints, Patient, Plan
from v2v_cli.stack.platform import DEMO_PRODUCT
from v2v_events import REGISTRY
from v2v_events.catalog import Service, events_topic
from v2v_events.contracts.logistics import CollectionScheduled, CollectionUnschedulable

from .harness import (
    Bench,
    Goal,
    Result,
    bench_stack,
    finish,
    latency_summary,
    parser,
    progress,
    running_platform,
)
from .latency import positioned_consumer
from .patients import patient

ENROLMENT_CLIENTS = 8
BROKEN_OFF_GRACE_S = 30.0  # a journey whose walk broke off may still be closing by itself
ANSWERS = {REGISTRY.for_model(m).name for m in (CollectionScheduled, CollectionUnschedulable)}


@dataclass
class Journey:
    patient: Patient
    coi: str = ""
    enrolled_at: float = 0.0  # wall clock (time.time), comparable with Temporal's times
    ended_at: float | None = None
    status: str = "lost"  # completed | failed | lost
    outcome: str = ""  # the workflow's outcome, or why it failed / was lost
    driver_error: str = ""
    settled: bool = False  # its fate is known (for the progress lines)
    doubled: list[str] = field(default_factory=list)


class LogisticsWatch:
    """When logistics first answered each CoI's collection request, from its events topic."""

    def __init__(self) -> None:
        self.first_answer: dict[str, float] = {}

    async def run(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for recs in batch.values():
                for r in recs:
                    headers = dict(r.headers)
                    if headers.get("ce_type", b"").decode() in ANSWERS:
                        self.first_answer.setdefault(headers["ce_subject"].decode(), now)


async def enrol_all(driver: Driver, journeys: list[Journey]) -> None:
    gate = asyncio.Semaphore(ENROLMENT_CLIENTS)

    async def enrol(j: Journey) -> None:
        async with gate:
            j.coi = await driver.enroll(j.patient)
            j.enrolled_at = time.time()

    await asyncio.gather(*(enrol(j) for j in journeys))


async def _workflow_end(client: Client, j: Journey, deadline: float) -> None:
    """Wait for the journey's workflow to close; record how it ended."""
    handle = client.get_workflow_handle(f"journey-{j.coi}")
    while time.monotonic() < deadline:
        try:
            view = await asyncio.wait_for(handle.result(), max(1.0, deadline - time.monotonic()))
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            await asyncio.sleep(0.5)  # not started yet
            continue
        except WorkflowFailureError as exc:
            j.ended_at, j.status, j.outcome = time.time(), "failed", str(exc.cause or exc)
            return
        except TimeoutError:
            break
        j.ended_at = time.time()
        j.status = "completed" if view.get("status") == "completed" else "failed"
        j.outcome = str(view.get("outcome"))
        return
    j.status, j.outcome = "lost", await _why_lost(client, j)


async def _why_lost(client: Client, j: Journey) -> str:
    try:
        desc = await client.get_workflow_handle(f"journey-{j.coi}").describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return "no journey was started for this enrolment"
        raise
    status = desc.status.name if desc.status else "unknown"
    stage = (desc.search_attributes.get("JourneyStage") or ["?"])[0]
    return f"workflow {status} at stage {stage}"


async def follow(
    driver: Driver, client: Client, j: Journey, gate: asyncio.Semaphore, deadline: float
) -> None:
    """Walk one journey while watching its workflow; a workflow that ends stops the walk.
    A walk that ends (or breaks off) frees its place; the workflow is awaited regardless."""
    end = asyncio.create_task(_workflow_end(client, j, deadline))
    async with gate:
        drive = asyncio.create_task(driver.journey(j.patient, Plan(), j.coi))
        await asyncio.wait({drive, end}, return_when=asyncio.FIRST_COMPLETED)
        if not drive.done():
            drive.cancel()
        try:
            await drive
        except asyncio.CancelledError:
            pass  # the workflow ended first: nothing left to walk
        except Exception as exc:
            j.driver_error = f"{type(exc).__name__}: {exc}"[:300]
    if j.driver_error and not end.done():
        # Nobody walks this journey on: only its own deadlines could still end it (a new
        # collection waits for its date, days away). Give it a moment to close, then say
        # why it stopped.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(end), BROKEN_OFF_GRACE_S)
        if not end.done():
            end.cancel()
            await _broke_off(client, j)
    with contextlib.suppress(asyncio.CancelledError):
        await end
    j.settled = True


async def _broke_off(client: Client, j: Journey) -> None:
    """The walk broke off while the workflow runs on. Failed if the journey had given up on a
    step (a deadline passed: it compensated and went another way) or an API refused a step;
    lost if both sides were waiting for a step that never came."""
    where = await _why_lost(client, j)
    compensated = [
        str(h.get("note"))
        for h in await _history(client, j)
        if h.get("stage") == "compensating" and not str(h.get("note")).startswith("compensated")
    ]
    if compensated:
        j.status = "failed"
        j.outcome = f"the journey compensated ({compensated[0]}); the walk broke off; {where}"
    elif "timed out waiting" in j.driver_error:
        j.status, j.outcome = "lost", f"a step never came ({j.driver_error}); {where}"
    else:
        j.status, j.outcome = "failed", f"an API refused a step ({j.driver_error}); {where}"


async def _history(client: Client, j: Journey) -> list[dict[str, Any]]:
    """The journey's own history (its ``status`` query), empty if it cannot answer."""
    try:
        view = await client.get_workflow_handle(f"journey-{j.coi}").query("status")
    except (RPCError, WorkflowQueryFailedError):
        return []
    history = view.get("history", []) if isinstance(view, dict) else []
    return [h for h in history if isinstance(h, dict)]


def live(rows: list[dict[str, Any]], *keys: str) -> list[str]:
    """Keys (e.g. kind/attempt) held by more than one row that is not cancelled."""
    counts = Counter(tuple(r.get(k) for k in keys) for r in rows if r.get("status") != "cancelled")
    return ["/".join(str(x) for x in key) for key, n in counts.items() if n > 1]


async def doubled(driver: Driver, j: Journey) -> list[str]:
    ep, call = driver.ep, driver._call
    bookings = await call("GET", f"{ep.logistics}/bookings?coi={j.coi}")
    shipments = await call("GET", f"{ep.logistics}/shipments?coi={j.coi}")
    batches = await call("GET", f"{ep.batch}/batches?coi={j.coi}")
    found = [
        f"booking {k}"
        for k in live([b for b in bookings if b["kind"] != "shipment"], "kind", "attempt")
    ]
    found += [f"shipment {k}" for k in live(shipments, "direction", "attempt")]
    found += [f"batch attempt {k}" for k in live(batches, "attempt")]
    return found


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalised(reason: str) -> str:
    """A reason with its ids, dates and numbers masked, to count alike failures together."""
    return re.sub(r"\d", "#", UUID.sub("<id>", reason))[:240]


async def _report_progress(journeys: list[Journey], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 15)
        settled = Counter(j.status for j in journeys if j.settled)
        progress(f"  cohort: {dict(settled)} of {len(journeys)}")


async def measure(
    bench: Bench,
    endpoints: Endpoints,
    db: str,
    n: int = 100,
    drivers: int = 25,
    limit_s: float = 1200,
    step_timeout: float = 240,
) -> list[Result]:
    stack = bench.stack
    client = await Client.connect(
        stack.temporal_address,
        namespace=stack.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
    consumer = await positioned_consumer(stack.kafka_bootstrap, events_topic(Service.LOGISTICS))
    watch = LogisticsWatch()
    watcher = asyncio.create_task(watch.run(consumer))
    journeys = [Journey(patient(f"C{bench.tag}", i, DEMO_PRODUCT)) for i in range(n)]
    lines: list[str] = []
    driver = Driver(endpoints, log=lines.append, timeout=step_timeout)
    stop = asyncio.Event()
    reporter = asyncio.create_task(_report_progress(journeys, stop))
    try:
        progress(f"cohort: enrolling {n} patients on {DEMO_PRODUCT} ({db})…")
        started = time.time()
        await enrol_all(driver, journeys)
        enrolled_s = time.time() - started
        progress(
            f"cohort: {n} enrolled in {enrolled_s:.1f} s; walking the journeys, "
            f"{drivers} at a time…"
        )
        deadline = time.monotonic() + limit_s
        gate = asyncio.Semaphore(drivers)
        await asyncio.gather(*(follow(driver, client, j, gate, deadline) for j in journeys))
        wall_s = time.time() - started
        for j in journeys:
            j.doubled = await doubled(driver, j)
        starts = await _start_times(client, journeys)
    finally:
        stop.set()
        for task in (watcher, reporter):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await consumer.stop()
        await driver.close()
    return [_result(db, journeys, starts, watch, started, enrolled_s, wall_s, drivers)]


async def _start_times(client: Client, journeys: list[Journey]) -> list[float]:
    times = []
    for j in journeys:
        try:
            desc = await client.get_workflow_handle(f"journey-{j.coi}").describe()
        except RPCError:
            continue
        if desc.start_time is not None:
            times.append(desc.start_time.timestamp())
    return times


def _result(
    db: str,
    journeys: list[Journey],
    starts: list[float],
    watch: LogisticsWatch,
    started: float,
    enrolled_s: float,
    wall_s: float,
    drivers: int,
) -> Result:
    n = len(journeys)
    by_status = Counter(j.status for j in journeys)
    failures = [j for j in journeys if j.status != "completed"]
    answers = [watch.first_answer[j.coi] for j in journeys if j.coi in watch.first_answer]
    completion = [
        j.ended_at - j.enrolled_at
        for j in journeys
        if j.status == "completed" and j.ended_at is not None
    ]
    first_start = min(starts, default=started)
    last_start = max(starts, default=started)
    start_span = max(last_start - started, 1e-9)
    details: dict[str, Any] = {
        "n": n,
        "drivers": drivers,
        "completed": by_status["completed"],
        "failed": by_status["failed"],
        "lost": by_status["lost"],
        "doubled": sum(1 for j in journeys if j.doubled),
        "outcomes": dict(Counter(j.outcome for j in journeys if j.status == "completed")),
        "failure_reasons": dict(Counter(normalised(j.outcome) for j in failures)),
        "failures": {
            j.coi: {"status": j.status, "reason": j.outcome, "driver": j.driver_error}
            for j in failures
        },
        "doubled_by_coi": {j.coi: j.doubled for j in journeys if j.doubled},
        "enrolments_per_s": round(n / enrolled_s, 1) if enrolled_s else None,
        "journeys_started": len(starts),
        "journey_starts_per_s": round(len(starts) / start_span, 1),
        "first_start_after_s": round(first_start - started, 2),
        "last_start_after_s": round(last_start - started, 2),
        "reached_logistics": len(answers),
        "all_reached_logistics_after_s": round(max(answers) - started, 2) if answers else None,
        "wall_s": round(wall_s, 1),
        **{
            f"completion_{k.replace('_ms', '_s')}": round(v / 1000, 1)
            for k, v in (latency_summary(completion).items() if completion else ())
        },
        "what": "journeys completed (Temporal) of those enrolled",
    }
    result = Result("cohort", db, float(by_status["completed"]), float(n), "journeys", details)
    result.judge(Goal("failed", "<=", 0), Goal("lost", "<=", 0), Goal("doubled", "<=", 0))
    for reason, count in sorted(details["failure_reasons"].items(), key=lambda kv: -kv[1]):
        print(f"  cohort: {count} x {reason}", flush=True)
    return result


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--n", type=int, default=100, help="journeys (default 100)")
    p.add_argument("--drivers", type=int, default=25, help="journeys walked at a time")
    p.add_argument("--timeout", type=float, default=1200, help="seconds for the whole cohort")
    args = p.parse_args()

    async def go() -> list[Result]:
        async with (
            bench_stack(need_postgres=args.db == "postgresql") as bench,
            running_platform(bench, args.db) as endpoints,
        ):
            return await measure(bench, endpoints, args.db, args.n, args.drivers, args.timeout)

    finish("cohort", asyncio.run(go()), args)


if __name__ == "__main__":
    main()
