"""What every measure shares: the result shape and its JSON file, goals, percentiles,
progress lines and the command line (the stack and processes: bench.stack; Kafka:
bench.kafka).

Every result compares ours with a baseline taken in the same run on the same box, so a
result is read as ``ratio = ours / baseline`` (throughput: higher is better; latency: lower).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform as host
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
Database = Literal["sqlite", "postgresql"]
DATABASES: tuple[Database, ...] = ("sqlite", "postgresql")


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
