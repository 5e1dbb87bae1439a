"""The chaos run's report: faults by kind with their recovery times, the journeys, and the
verdict (lost, doubled, stuck); printed as tables and kept as JSON."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.table import Table

from v2v_cli.chaos.cohort import Journey
from v2v_cli.chaos.faults import TITLES, FaultKind
from v2v_cli.chaos.injector import FaultResult
from v2v_cli.chaos.journeys_check import JourneyVerdict
from v2v_cli.chaos.reconcile import Delivery, shown


@dataclass
class KindSummary:
    kind: str
    title: str
    injected: int
    targets: list[str]
    ready_s: dict[str, float | None]  # median, max
    working_s: dict[str, float | None]
    not_ready: int
    not_working: int  # nothing of its work moved within the wait (no work pending, or stuck)
    retried_calls: int


@dataclass
class Report:
    seed: int
    journeys: int
    extra_journeys: int  # of them, started beyond the cohort's size to keep the load up
    concurrency: int
    storage: str
    seconds: float
    faults: list[KindSummary]
    fault_log: list[dict[str, Any]]
    verdict: dict[str, int]
    journey_seconds: dict[str, float | None]
    designs: dict[str, int]
    delivery: dict[str, int]
    read_model_rows: int
    findings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        kinds = {k.kind for k in self.faults if k.injected}
        return all(v == 0 for k, v in self.verdict.items() if k != "as designed") and kinds == {
            k.value for k in FaultKind
        }

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "max": None}
    return {"median": round(statistics.median(values), 1), "max": round(max(values), 1)}


def summarise(results: list[FaultResult]) -> list[KindSummary]:
    out = []
    for kind in FaultKind:
        mine = [r for r in results if r.fault.kind is kind]
        out.append(
            KindSummary(
                kind=kind.value,
                title=TITLES[kind],
                injected=len(mine),
                targets=sorted({r.fault.target for r in mine}),
                ready_s=_spread([r.ready_s for r in mine if r.ready_s is not None]),
                working_s=_spread([r.working_s for r in mine if r.working_s is not None]),
                not_ready=sum(r.ready_s is None for r in mine),
                not_working=sum(r.working_s is None for r in mine),
                retried_calls=sum(r.retried_calls for r in mine),
            )
        )
    return out


def build(
    *,
    seed: int,
    concurrency: int,
    seconds: float,
    results: list[FaultResult],
    journeys: list[Journey],
    verdict: JourneyVerdict,
    delivery: Delivery,
    read_model_rows: int,
    read_model_diffs: list[str],
    not_quiet: list[str],
) -> Report:
    durations = [j.seconds for j in journeys if j.seconds is not None]
    designs: dict[str, int] = {}
    for j in journeys:
        designs[j.design.name] = designs.get(j.design.name, 0) + 1
    lost = delivery.lost + verdict.lost + not_quiet
    findings = {
        "lost": lost,
        "doubled": delivery.doubled + verdict.doubled,
        "stuck": verdict.stuck,
        "off design": verdict.other_outcome,
        "dead letters": delivery.dead_letters,
        "read model differs from a rebuild": read_model_diffs,
        "faults": [f"{r.fault.target}: {_unrecovered(r)}" for r in results if _unrecovered(r)],
    }
    return Report(
        seed=seed,
        journeys=len(journeys),
        extra_journeys=sum(j.extra for j in journeys),
        concurrency=concurrency,
        storage="postgres",
        seconds=round(seconds, 1),
        faults=summarise(results),
        fault_log=[
            {
                "at_s": round(r.at_s, 1),
                "kind": r.fault.kind.value,
                "target": r.fault.target,
                "ready_s": None if r.ready_s is None else round(r.ready_s, 1),
                "working_s": None if r.working_s is None else round(r.working_s, 1),
                "retried_calls": r.retried_calls,
                "error": r.error,
            }
            for r in results
        ],
        verdict={
            "as designed": verdict.as_designed,
            "lost": len(lost),
            "doubled": len(findings["doubled"]),
            "stuck": len(verdict.stuck),
            "off design": len(verdict.other_outcome),
            "dead letters": len(delivery.dead_letters),
            "read model differences": len(read_model_diffs),
            "fault not recovered": len(findings["faults"]),
        },
        journey_seconds={**_spread(durations), "p95": _p95(durations)},
        designs=designs,
        delivery={
            "outbox rows": delivery.outbox,
            "published": delivery.published,
            "records to apply": delivery.to_consume,
            "applied once": delivery.applied,
            "republished (relay at-least-once)": delivery.republished,
            "signals": verdict.signals,
            "re-signalled (kept once)": verdict.resignalled,
            "reached the bridge after their journey ended (skipped)": verdict.after_end,
        },
        read_model_rows=read_model_rows,
        findings={k: shown(v) for k, v in findings.items() if v},
    )


def _unrecovered(r: FaultResult) -> str:
    """Why the process hit by ``r`` did not recover ("" if it did): it never answered its
    readiness probe again, or none of its work moved on (with journeys in flight)."""
    if r.error or r.ready_s is None:
        return r.error or "not ready again"
    return "" if r.working_s is not None else "ready, but none of its work moved on"


def _p95(values: list[float]) -> float | None:
    """The nearest-rank 95th percentile: a value that was measured."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[math.ceil(0.95 * len(ordered)) - 1], 1)


def _s(spread: dict[str, float | None]) -> str:
    if spread["median"] is None:
        return "-"
    return f"{spread['median']:.1f} / {spread['max']:.1f}"


def fault_table(report: Report) -> Table:
    table = Table(title=f"faults (seed {report.seed})")
    for col in (
        "fault",
        "n",
        "ready again s (median / max)",
        "working again s (median / max)",
        "retried calls",
        "not recovered",
    ):
        table.add_column(col)
    for k in report.faults:
        failed = k.not_ready + k.not_working
        table.add_row(
            k.title,
            str(k.injected),
            _s(k.ready_s),
            _s(k.working_s),
            str(k.retried_calls),
            str(failed),
        )
    return table


def verdict_table(report: Report) -> Table:
    extra = f" ({report.extra_journeys} extra)" if report.extra_journeys else ""
    table = Table(
        title=f"{report.journeys} journeys{extra}, {report.concurrency} at a time, "
        f"{report.seconds:.0f} s"
    )
    table.add_column("check")
    table.add_column("result")
    for name, value in report.verdict.items():
        table.add_row(name, str(value))
    for name, value in report.delivery.items():
        table.add_row(name, str(value))
    table.add_row("read-model rows compared with a rebuild", str(report.read_model_rows))
    js = report.journey_seconds
    table.add_row("journey s (median / p95 / max)", f"{js['median']} / {js['p95']} / {js['max']}")
    table.add_row("verdict", "OK: nothing lost, doubled or stuck" if report.ok else "FAILED")
    return table
