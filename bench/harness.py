"""What every measure shares: the stack, databases, the platform as processes, the result
shape and its JSON file, percentiles and progress lines.

Every result compares ours with a baseline taken in the same run on the same box, so a
result is read as ``ratio = ours / baseline`` (throughput: higher is better; latency: lower).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform as host
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient

from v2v_cli.journeys import Endpoints
from v2v_cli.stack import Stack, StackConfig
from v2v_cli.stack.platform import Platform, ServiceProcess
from v2v_cli.stack.process import free_ports, tail, write_pid
from v2v_cli.testing import ProvisionedStack, provision_stack
from v2v_events.catalog import EVENTS_PARTITIONS

from .patients import facility_id

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
Database = Literal["sqlite", "postgresql"]
DATABASES: tuple[Database, ...] = ("sqlite", "postgresql")
PLATFORM_SERVICES = ("custody", "logistics", "batch", "qc", "journey")
# With aiokafka against the stack's broker, a parked fetch is answered when its max wait
# expires, not when a record arrives (observed: a record sent 0.1 s after the last one arrives
# ~505 ms later with the client's default of 500 ms). Our consumers (instruments, baselines)
# ask for 10 ms; docs/performance.md.
PROMPT_FETCH_MS = 10
DEFAULT_FETCH_MS = 500  # aiokafka's default, which the platform's consumers use


@dataclass(frozen=True)
class Goal:
    """A target from the issue, e.g. ratio >= 0.5 or p99_ms <= 250."""

    what: str
    op: Literal[">=", "<="]
    value: float

    def check(self, actual: float | None) -> dict[str, Any]:
        met = actual is not None and (
            actual >= self.value if self.op == ">=" else actual <= self.value
        )
        return {"what": self.what, "op": self.op, "value": self.value, "actual": actual, "met": met}


@dataclass
class Result:
    """One figure of one measure: ours against the baseline of the same run."""

    measure: str
    database: str
    ours: float | None
    baseline: float | None
    unit: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.baseline:
            return None
        return round(self.ours / self.baseline, 4)

    def judge(self, *goals: Goal) -> None:
        """Record whether the issue's goals are met (``ratio`` or a key of the details)."""
        values = {"ratio": self.ratio, **self.details}
        self.details["goals"] = [g.check(_number(values.get(g.what))) for g in goals]

    def as_json(self, commit: str, date: str) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "database": self.database,
            "ours": self.ours,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "unit": self.unit,
            "details": self.details,
            "git_commit": commit,
            "date": date,
        }


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


# --- statistics and output -------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: always an observed value)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds (0.1 ms resolution)."""
    return {
        f"{name}_ms": round(value * 1000, 1)
        for name, value in (
            ("p50", percentile(seconds, 50)),
            ("p95", percentile(seconds, 95)),
            ("p99", percentile(seconds, 99)),
            ("max", max(seconds)),
        )
    }


_STARTED = time.monotonic()
_LOAD_AT_START = os.getloadavg()  # other work on the box shows here (2 cores are shared)


def progress(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:7.1f}s] {message}", flush=True)


def print_result(result: Result) -> None:
    ratio = "—" if result.ratio is None else f"{result.ratio:g}"
    goals = result.details.get("goals", [])
    verdict = " ".join(
        f"[{g['what']} {g['op']} {g['value']:g}: {'met' if g['met'] else 'NOT met'}]" for g in goals
    )
    print(
        f"  {result.measure:<18} {result.database:<10} ours {result.ours!s:>10}  "
        f"baseline {result.baseline!s:>10}  {result.unit:<22} ratio {ratio} {verdict}",
        flush=True,
    )


def git_commit() -> str:
    """The commit measured, with ``+dirty`` when the work tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "system": f"{host.system()} {host.release()}",
        "python": host.python_version(),
        "load_average_at_start": [round(x, 2) for x in _LOAD_AT_START],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def write_results(
    name: str, results: Sequence[Result], args: dict[str, Any], out_dir: Path | None = None
) -> Path:
    """One JSON file under ``bench/results/`` (or ``out_dir``) with every result of a run."""
    commit, date = git_commit(), datetime.now(UTC).isoformat(timespec="seconds")
    doc = {
        "run": name,
        "git_commit": commit,
        "date": date,
        "machine": machine(),
        "args": args,
        "results": [r.as_json(commit, date) for r in results],
    }
    folder = out_dir or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{name}-{stamp}-{uuid.uuid4().hex[:4]}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


RESULT_KEYS = (
    "measure",
    "database",
    "ours",
    "baseline",
    "ratio",
    "unit",
    "details",
    "git_commit",
    "date",
)


def validate(doc: dict[str, Any]) -> None:
    """Raise ValueError unless ``doc`` is a results file: a run header and well-formed
    results (the shape the chart, the docs and later comparisons rely on)."""
    for key in ("run", "git_commit", "date", "machine", "results"):
        if key not in doc:
            raise ValueError(f"results file without {key!r}")
    if not isinstance(doc["results"], list) or not doc["results"]:
        raise ValueError("results file without results")
    for r in doc["results"]:
        missing = [k for k in RESULT_KEYS if k not in r]
        if missing:
            raise ValueError(f"result {r.get('measure')!r} lacks {missing}")
        if r["database"] not in DATABASES:
            raise ValueError(f"result {r['measure']!r}: unknown database {r['database']!r}")
        for k in ("ours", "baseline", "ratio"):
            if r[k] is not None and not isinstance(r[k], int | float):
                raise ValueError(f"result {r['measure']!r}: {k} is not a number")
        if not isinstance(r["details"], dict):
            raise ValueError(f"result {r['measure']!r}: details is not an object")
        datetime.fromisoformat(r["date"])


# --- stack, databases and processes --------------------------------------------------------------


class Bench:
    """One run: the provisioned stack, a scratch directory, and fresh databases on demand."""

    def __init__(self, stack: ProvisionedStack, scratch: Path | None = None) -> None:
        self.stack = stack
        self.tag = uuid.uuid4().hex[:8]
        self._own_scratch = scratch is None
        self.scratch = scratch or Path(tempfile.mkdtemp(prefix="v2v-bench-"))

    async def database(self, db: str, name: str) -> str:
        """A new, empty database ``name`` of kind ``db`` (SQLite file or PostgreSQL)."""
        if db == "sqlite":
            folder = self.scratch / "db"
            folder.mkdir(parents=True, exist_ok=True)
            return f"sqlite+aiosqlite:///{folder}/{name}-{self.tag}.sqlite"
        if db == "postgresql":
            return await self.stack.create_database(f"bench_{name}_{self.tag}".replace("-", "_"))
        raise ValueError(f"unknown database kind {db!r}")

    def close(self) -> None:
        if self._own_scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


@asynccontextmanager
async def bench_stack(need_postgres: bool) -> AsyncIterator[Bench]:
    """Kafka, Temporal (and PostgreSQL) as the tests get them: V2V_TEST_* endpoints, Docker,
    or the native launcher on free ports in a temp dir (stopped and deleted at the end)."""
    progress(
        "provisioning the stack (Kafka, Temporal" + (", PostgreSQL)…" if need_postgres else ")…")
    )
    stack = await asyncio.to_thread(provision_stack, need_postgres)
    progress(f"stack ready: {stack.how}")
    bench = Bench(stack)
    try:
        yield bench
    finally:
        bench.close()
        await asyncio.to_thread(stack.close)


def _platform_config(data: Path, ports: Sequence[int]) -> StackConfig:
    return StackConfig.from_env().replace(
        data_dir=data,
        custody_port=ports[0],
        logistics_port=ports[1],
        batch_port=ports[2],
        qc_port=ports[3],
    )


async def _platform_endpoints(bench: Bench, db: str, services: Sequence[str]) -> dict[str, Any]:
    stack = bench.stack
    return {
        "kafka_bootstrap": stack.kafka_bootstrap,
        "temporal_address": stack.temporal_address,
        "temporal_namespace": stack.temporal_namespace,
        "database_urls": {s: await bench.database(db, f"platform-{s}") for s in services},
    }


def _log_tails(folder: Path) -> None:
    for log in sorted(folder.glob("*.log")):
        print(f"--- {log.name} (last lines) ---\n{tail(log, 25)}", flush=True)


@asynccontextmanager
async def running_platform(bench: Bench, db: str) -> AsyncIterator[Endpoints]:
    """The four services and the journey, each its own OS process, as ``v2v up`` runs them
    (and as tests/integration/conftest.py's ``platform`` fixture does)."""
    data = bench.scratch / f"platform-{db}"
    config = _platform_config(data, free_ports(4))
    endpoints = await _platform_endpoints(bench, db, PLATFORM_SERVICES)
    plat = Platform(Stack(config))
    progress(f"starting the platform ({db}): custody, logistics, batch, qc, journey…")
    ok = False
    # Inherited by the processes (as the tests pass V2V_TRACE_FILE): CoIs of their own.
    saved = os.environ.get("V2V_FACILITY_ID")
    os.environ["V2V_FACILITY_ID"] = facility_id("P")
    try:
        await asyncio.to_thread(plat.up, endpoints, progress)
        _restore("V2V_FACILITY_ID", saved)
        progress("platform ready")
        yield Endpoints(
            *(
                f"http://127.0.0.1:{p}"
                for p in (
                    config.custody_port,
                    config.logistics_port,
                    config.batch_port,
                    config.qc_port,
                )
            )
        )
        ok = True
    finally:
        _restore("V2V_FACILITY_ID", saved)
        await asyncio.to_thread(plat.down)
        if not ok:
            _log_tails(config.logs_dir)


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@asynccontextmanager
async def service_process(
    bench: Bench, service: str, database_url: str, env: dict[str, str] | None = None
) -> AsyncIterator[str]:
    """One service alone as its own process (API, consumer and relay, as ``v2v up`` runs it);
    yields its base URL."""
    data = bench.scratch / f"{service}-{uuid.uuid4().hex[:6]}"
    config = _platform_config(data, free_ports(4))
    settings = {
        "V2V_SERVICE": service,
        "V2V_KAFKA_BOOTSTRAP_SERVERS": bench.stack.kafka_bootstrap,
        "V2V_TEMPORAL_ADDRESS": bench.stack.temporal_address,
        "V2V_DATABASE_URL": database_url,
        "V2V_LOG_JSON": "true",
        **(env or {}),
    }
    comp = ServiceProcess(config, service, settings)
    pid = comp.start()
    write_pid(comp.pid_file, pid)
    ok = False
    try:
        await _until_ready(comp.probe, comp.ready_timeout, f"{service} ({comp.log_file})")
        progress(f"{service} process ready at {comp.endpoint}")
        yield comp.endpoint
        ok = True
    finally:
        await asyncio.to_thread(comp.stop, pid)
        if not ok:
            _log_tails(config.logs_dir)


async def create_topics(
    bootstrap: str, *names: str, partitions: int = EVENTS_PARTITIONS, wait_s: float = 30
) -> None:
    """Fresh topics laid out like the catalog's events topics; returns once every partition
    has a leader (a first send to a brand-new topic would otherwise retry, and be timed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    try:
        for name in names:
            client.add_topic(name)
        deadline = time.monotonic() + wait_s
        while True:
            await client.force_metadata_update()
            if all(
                len(client.cluster.available_partitions_for_topic(n) or ()) == partitions
                for n in names
            ):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {names} have no leaders after {wait_s:.0f} s")
            await asyncio.sleep(0.1)
    finally:
        await client.close()


async def _until_ready(probe: Callable[[], Awaitable[bool]], wait_s: float, what: str) -> None:
    deadline = time.monotonic() + wait_s
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {wait_s:.0f} s")
        await asyncio.sleep(0.2)


# --- command lines -------------------------------------------------------------------------------


def quiet_clients() -> None:
    """Client libraries log transient states (a group joining, metadata of a new topic) as
    errors; a bench prints its own progress and fails on timeouts of its own."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("aiokafka", "kafka", "faststream", "v2v", "temporalio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def parser(description: str | None, *, one_db: bool = True) -> argparse.ArgumentParser:
    quiet_clients()
    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if one_db:
        p.add_argument("--db", choices=DATABASES, default="sqlite", help="storage of our side")
    p.add_argument("--out", type=Path, default=None, help="results folder (bench/results/)")
    return p


def finish(name: str, results: Sequence[Result], args: argparse.Namespace) -> Path:
    print(f"\n{name}: ours vs the baseline of the same run", flush=True)
    for r in results:
        print_result(r)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    path = write_results(name, results, settings, args.out)
    print(f"results: {path}", flush=True)
    return path
