"""All four measures in one run, one combined JSON.

    uv run --frozen python -m bench.run_all [--db sqlite] [--db postgresql] [--only ...]

One stack (Kafka, Temporal, PostgreSQL) for the whole run. For each database the platform
measures (latency, then the cohort, on one platform) run first; the command and catch-up
measures follow. That order matters: the command measure enrols hundreds of patients
through a custody process of its own, and a journey bridge started later on the same Kafka
would open journeys for them.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from . import catchup, cohort, commands, latency
from .harness import DATABASES, Result, finish, parser, progress
from .stack import bench_stack, running_platform

MEASURES = ("latency", "cohort", "commands", "catchup")


async def run(args: argparse.Namespace) -> list[Result]:
    dbs: list[str] = list(dict.fromkeys(args.db or DATABASES))
    only = set(args.only.split(","))
    if only - set(MEASURES):
        raise SystemExit(f"unknown measures {sorted(only - set(MEASURES))}; from {MEASURES}")
    results: list[Result] = []
    async with bench_stack(need_postgres="postgresql" in dbs) as bench:
        for db in dbs:
            if only & {"latency", "cohort"}:
                async with running_platform(bench, db) as endpoints:
                    if "latency" in only:
                        results += await latency.measure(
                            bench, endpoints, db, args.patients, args.raw_samples, args.poll_ms
                        )
                    if "cohort" in only:
                        results += await cohort.measure(
                            bench, endpoints, db, args.cohort, args.drivers, args.cohort_timeout
                        )
        for db in dbs:
            if "commands" in only:
                levels = tuple(int(x) for x in args.levels.split(","))
                results += await commands.measure(bench, db, levels, args.requests)
            if "catchup" in only:
                results += await catchup.measure(bench, db, args.n, args.timeout)
    progress("all measures done")
    return results


def main() -> None:
    p = parser(__doc__, one_db=False)
    p.add_argument(
        "--db",
        action="append",
        choices=DATABASES,
        help="repeat for both (default: sqlite and postgresql)",
    )
    p.add_argument("--only", default=",".join(MEASURES), help="comma-separated measures")
    p.add_argument("--n", type=int, default=5000, help="catch-up: outbox rows")
    p.add_argument("--timeout", type=float, default=900, help="catch-up: seconds allowed")
    p.add_argument("--patients", type=int, default=50, help="latency: enrolments timed")
    p.add_argument("--raw-samples", type=int, default=200, help="latency: raw round trips")
    p.add_argument("--poll-ms", type=float, default=10, help="latency: logistics polling")
    p.add_argument("--levels", default="1,8,32", help="commands: client counts")
    p.add_argument("--requests", type=int, default=300, help="commands: requests per level")
    p.add_argument("--cohort", type=int, default=100, help="cohort: journeys")
    p.add_argument("--drivers", type=int, default=25, help="cohort: journeys walked at a time")
    p.add_argument("--cohort-timeout", type=float, default=1200, help="cohort: seconds")
    args = p.parse_args()
    results = asyncio.run(run(args))
    path: Path = finish("all", results, args)
    print(f"chart and table: uv run --frozen python -m bench.chart {path}", flush=True)


if __name__ == "__main__":
    main()
