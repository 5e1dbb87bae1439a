"""Journey cohort: N straight journeys on the demo product, through the HTTP APIs only.

    uv run --frozen python -m bench.cohort [--n 100] [--drivers 25] [--db sqlite|postgresql]

On the real platform, N patients are enrolled (8 at a time, sites taken in turn, earliest
collection today, as the demo's), then each journey is walked as the people would
(``v2v_cli.journeys.Driver``: collection, courier, manufacturing, QC, QA release, shipment,
thaw and infusion; the signed acts re-authenticate their signers at the provider: each
handoff to the courier both parties, each receipt, the release, each thaw and the
infusion), ``--drivers`` journeys at
a time. Each journey's outcome is Temporal's:
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
import time
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaConsumer
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from v2v_cli.journeys import Driver, Endpoints
from v2v_cli.stack.platform import DEMO_PRODUCT
from v2v_events import REGISTRY
from v2v_events.catalog import Service, events_topic
from v2v_events.contracts.logistics import CollectionScheduled, CollectionUnschedulable

from .harness import Goal, Result, finish, latency_summary, parser, progress
from .kafka import positioned_consumer
from .patients import patient
from .stack import Bench, bench_stack, running_platform
from .walks import Journey, doubled, follow, normalised

ENROLMENT_CLIENTS = 8
ANSWERS = {REGISTRY.for_model(m).name for m in (CollectionScheduled, CollectionUnschedulable)}


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
