"""End-to-end latency: an enrolment over HTTP → its collection booking visible in logistics.

    uv run --frozen python -m bench.latency [--patients 50] [--db sqlite|postgresql]

On the real platform (every service and the journey as its own process, as ``v2v up`` runs
them), patients are enrolled one at a time: ``POST /patients`` to custody, then logistics'
``GET /bookings?coi=…&kind=collection`` is polled every ``--poll-ms`` until the booking is
there (custody relay → Kafka → journey bridge → Temporal workflow → activity → logistics
command → logistics inbox → booking). Timed from just before the POST. The first hop is
timed to the moment a plain consumer of custody's events topic receives the enrolment.
Baseline, same run: the raw Kafka round trip, one record at a time (aiokafka producer with
acks=all and idempotence, linger 0; a consumer already positioned at the end, asking the
broker to answer fetches within 10 ms), sampled between the patients (``--raw-samples`` in
all) so both see the box in the same state. Detail: the same round trip with the client's
default fetch wait (500 ms, as the platform's consumers have), one sample per patient.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from v2v_cli.journeys import COORDINATOR, LOGISTICS, Endpoints
from v2v_events import REGISTRY
from v2v_events.catalog import Service, events_topic
from v2v_events.contracts.custody import PatientEnrolled

from .harness import Goal, Result, finish, latency_summary, parser, progress
from .kafka import DEFAULT_FETCH_MS, PROMPT_FETCH_MS, RoundTrips, positioned_consumer
from .patients import enrolment_body
from .stack import Bench, bench_stack, running_platform

ENROLLED = REGISTRY.for_model(PatientEnrolled).name
WARMUP = 2  # first enrolments (cold workflow cache, first connections) are not counted
WAIT_S = 60.0  # a booking not visible by then is a failure, reported


@dataclass
class TopicWatch:
    """When each enrolment of ours reached custody's events topic."""

    seen: dict[str, float] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for recs in batch.values():
                for r in recs:
                    headers = dict(r.headers)
                    if headers.get("ce_type") == ENROLLED.encode():
                        self.seen.setdefault(headers["ce_subject"].decode(), now)
            if batch:
                self.arrived.set()

    async def wait(self, coi: str, wait_s: float) -> float | None:
        deadline = time.monotonic() + wait_s
        while coi not in self.seen and time.monotonic() < deadline:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), 0.5)
        return self.seen.get(coi)


@dataclass
class Sample:
    http_s: float
    first_hop_s: float | None
    end_to_end_s: float | None


async def one_patient(
    http: httpx.AsyncClient,
    ep: Endpoints,
    watch: TopicWatch,
    body: dict[str, Any],
    poll_s: float,
    bench: Bench,
) -> tuple[str, Sample]:
    coordinator = await bench.person(COORDINATOR, body["treatment_center"])
    planner = await bench.person(LOGISTICS, body["apheresis_center"])
    headers = {**coordinator, "Idempotency-Key": str(uuid.uuid4())}
    started = time.perf_counter()
    resp = await http.post(f"{ep.custody}/patients", json=body, headers=headers)
    answered = time.perf_counter()
    if resp.status_code != 201:
        raise RuntimeError(f"enrolment refused: {resp.status_code} {resp.text[:300]}")
    coi = str(resp.json()["coi"])

    async def booked() -> float | None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            got = await http.get(
                f"{ep.logistics}/bookings",
                params={"coi": coi, "kind": "collection"},
                headers=planner,
            )
            if got.status_code == 200 and any(b.get("status") != "cancelled" for b in got.json()):
                return time.perf_counter()
            await asyncio.sleep(poll_s)
        return None

    on_topic, visible = await asyncio.gather(watch.wait(coi, WAIT_S), booked())
    return coi, Sample(
        answered - started,
        None if on_topic is None else on_topic - started,
        None if visible is None else visible - started,
    )


async def measure(
    bench: Bench,
    endpoints: Endpoints,
    db: str,
    patients: int = 50,
    raw_samples: int = 200,
    poll_ms: float = 10,
) -> list[Result]:
    bootstrap = bench.stack.kafka_bootstrap
    raw = RoundTrips(bootstrap)
    await raw.start()
    # Detail: the same round trip with the fetch wait the platform's consumers use.
    slow = RoundTrips(bootstrap, DEFAULT_FETCH_MS)
    await slow.start()
    # Baseline samples are taken between the patients, so both see the box in the same state.
    per_patient = max(1, math.ceil(raw_samples / patients))
    consumer = await positioned_consumer(bootstrap, events_topic(Service.CUSTODY))
    watch = TopicWatch()
    watcher = asyncio.create_task(watch.run(consumer))
    samples: list[Sample] = []
    failures: list[str] = []
    progress(
        f"latency: {patients} enrolments, one at a time, until booked in logistics ({db}); "
        f"{per_patient} raw Kafka round trip(s) after each…"
    )
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            for i in range(WARMUP + patients):
                body = enrolment_body(f"L{bench.tag}", i)
                coi, sample = await one_patient(http, endpoints, watch, body, poll_ms / 1000, bench)
                if sample.end_to_end_s is None or sample.first_hop_s is None:
                    failures.append(f"{coi}: not on the topic or not booked within {WAIT_S:.0f} s")
                elif i >= WARMUP:
                    samples.append(sample)
                    await raw.sample(per_patient)
                    await slow.sample(1)
                if i and i % 10 == 0:
                    progress(f"  latency: {i}/{WARMUP + patients} patients")
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await consumer.stop()
        await raw.stop()
        await slow.stop()
    if not samples:
        raise RuntimeError(f"latency: no enrolment reached logistics: {failures[:3]}")
    e2e = latency_summary([s.end_to_end_s for s in samples if s.end_to_end_s is not None])
    hop = latency_summary([s.first_hop_s for s in samples if s.first_hop_s is not None])
    http_ms = latency_summary([s.http_s for s in samples])
    base = latency_summary(raw.times)
    default_fetch = latency_summary(slow.times)
    result = Result(
        "latency-p99",
        db,
        e2e["p99_ms"],
        base["p99_ms"],
        "ms (p99)",
        {
            "patients": len(samples),
            "warmup": WARMUP,
            "failures": failures,
            "poll_ms": poll_ms,
            **e2e,
            **{f"first_hop_{k}": v for k, v in hop.items()},
            **{f"http_{k}": v for k, v in http_ms.items()},
            **{f"baseline_{k}": v for k, v in base.items()},
            "baseline_samples": len(raw.times),
            "baseline_fetch_max_wait_ms": PROMPT_FETCH_MS,
            **{f"default_fetch_round_trip_{k}": v for k, v in default_fetch.items()},
            "p50_ratio": round(e2e["p50_ms"] / base["p50_ms"], 2) if base["p50_ms"] else None,
            "what": "POST /patients sent → collection booking visible in logistics' API",
            "first_hop_what": "POST /patients sent → enrolment received from custody's topic",
            "baseline_what": "raw Kafka produce (acks=all) → consume (fetch wait 10 ms), one "
            "record at a time, sampled between the patients",
        },
    )
    result.judge(Goal("ratio", "<=", 10))
    return [result]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--patients", type=int, default=50, help="enrolments timed (default 50)")
    p.add_argument("--raw-samples", type=int, default=200, help="raw round trips")
    p.add_argument("--poll-ms", type=float, default=10, help="logistics polling interval")
    args = p.parse_args()

    async def go() -> list[Result]:
        async with (
            bench_stack(need_postgres=args.db == "postgresql") as bench,
            running_platform(bench, args.db) as endpoints,
        ):
            return await measure(
                bench, endpoints, args.db, args.patients, args.raw_samples, args.poll_ms
            )

    finish("latency", asyncio.run(go()), args)


if __name__ == "__main__":
    main()
