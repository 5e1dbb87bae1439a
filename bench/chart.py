"""The chart and the table of docs/performance.md, from results files (no plotting library).

    uv run --frozen python -m bench.chart bench/results/all-….json [more.json …]
        [--svg docs/performance/ratios.svg] [--markdown]

One row per result: the ratio ours ÷ baseline of the same run on a log scale, the goal as a
tick, green when every goal of the row is met, red when not.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from .harness import validate

# Layout (pixels).
LEFT, BAR_W, RIGHT, ROW, TOP = 200, 420, 290, 26, 58
DECADES = (-3, 3)  # 0.001 … 1000
GREEN, RED, GREY = "#2e7d32", "#c62828", "#9e9e9e"
SIGNS = {">=": "≥", "<=": "≤"}


def load(paths: Sequence[Path]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every result of the files, in order, and the first file's header (commit, machine)."""
    results: list[dict[str, Any]] = []
    header: dict[str, Any] = {}
    for path in paths:
        doc = json.loads(path.read_text())
        validate(doc)
        header = header or {k: v for k, v in doc.items() if k != "results"}
        results += doc["results"]
    return results, header


def _x(ratio: float) -> float:
    lo, hi = DECADES
    value = min(max(math.log10(max(ratio, 10.0**lo)), lo), hi)
    return LEFT + (value - lo) / (hi - lo) * BAR_W


def _goal(result: dict[str, Any]) -> dict[str, Any] | None:
    goals = result["details"].get("goals", [])
    on_ratio = [g for g in goals if g["what"] == "ratio"]
    if on_ratio:
        return dict(on_ratio[0])
    if goals:  # goals on counts (the cohort): all journeys completed is ratio 1
        return {"op": ">=", "value": 1.0}
    return None


def _met(result: dict[str, Any]) -> bool | None:
    goals = result["details"].get("goals", [])
    return all(g["met"] for g in goals) if goals else None


def label(result: dict[str, Any]) -> str:
    return f"{result['measure']} · {result['database']}"


def svg(results: Sequence[dict[str, Any]], header: dict[str, Any]) -> str:
    height = TOP + ROW * len(results) + 30
    width = LEFT + BAR_W + RIGHT
    machine = header.get("machine", {})
    commit = str(header.get("git_commit", "?"))[:10]
    title = (
        f"ours ÷ baseline of the same run (log scale) — {machine.get('cpus', '?')} cores, "
        f"commit {commit}, {header.get('date', '?')}"
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="18" font-weight="bold">{escape(title)}</text>',
        '<text x="10" y="36" fill="#555">bar: from parity (1) to the ratio; tick: the goal; '
        "green: goals met, red: not</text>",
    ]
    lo, hi = DECADES
    bottom = TOP + ROW * len(results)
    for exp in range(lo, hi + 1):
        x = _x(10.0**exp)
        out.append(
            f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{bottom}" '
            f'stroke="{"#444" if exp == 0 else "#ddd"}"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#555">'
            f"{10.0**exp:g}</text>"
        )
    for i, r in enumerate(results):
        y = TOP + i * ROW
        met = _met(r)
        colour = GREY if met is None else GREEN if met else RED
        out.append(f'<text x="{LEFT - 8}" y="{y + 16}" text-anchor="end">{escape(label(r))}</text>')
        ratio = r["ratio"]
        if ratio is not None and ratio > 0:
            x0, x1 = sorted((_x(1.0), _x(float(ratio))))
            out.append(
                f'<rect x="{x0:.1f}" y="{y + 5}" width="{max(x1 - x0, 1.5):.1f}" height="14" '
                f'fill="{colour}"/>'
            )
            # a dot at the ratio, visible even when the bar is short
            out.append(f'<circle cx="{_x(float(ratio)):.1f}" cy="{y + 12}" r="4" fill="{colour}"/>')
        goal = _goal(r)
        if goal is not None:
            gx = _x(float(goal["value"]))
            out.append(
                f'<line x1="{gx:.1f}" y1="{y + 1}" x2="{gx:.1f}" y2="{y + 23}" '
                f'stroke="black" stroke-width="2"/>'
            )
        goal_text = f" (goal {SIGNS[goal['op']]} {goal['value']:g})" if goal else ""
        if goal and "what" not in goal:
            goal_text = " (goal: all completed)"
        # goals on other figures (a p99, failed journeys) that are not met, said in words
        goal_text += "".join(
            f"; {g['what']} {g['actual']:g}, goal {SIGNS[g['op']]} {g['value']:g}"
            for g in r["details"].get("goals", [])
            if g["what"] != "ratio" and not g["met"] and g["actual"] is not None
        )
        value = "—" if ratio is None else f"{ratio:.3g}"
        out.append(f'<text x="{LEFT + BAR_W + 8}" y="{y + 16}">{escape(value + goal_text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _detail(r: dict[str, Any]) -> str:
    d = r["details"]
    if r["measure"] == "catchup":
        return f"relay alone {d['relay_alone_msgs_per_s']:g} msg/s ({d['n']} rows)"
    if r["measure"].startswith("latency"):
        return (
            f"p50 {d['p50_ms']:g} ms vs raw {d['baseline_p50_ms']:g} ms; "
            f"first hop p50 {d['first_hop_p50_ms']:g} ms, p99 {d['first_hop_p99_ms']:g} ms"
        )
    if r["measure"].startswith("commands"):
        errors = d["requests"] - d["ok"]
        shared = d.get("baseline_one_connection_per_s")
        return (
            f"p50 {d.get('p50_ms', '—')} / p99 {d.get('p99_ms', '—')} ms "
            f"(raw p99 {d['baseline_p99_ms']:g} ms"
            + (f"; raw through one connection {shared:g}/s" if shared is not None else "")
            + f"); {errors} refused"
        )
    if r["measure"] == "cohort":
        return (
            f"{d['failed']} failed, {d['lost']} lost, {d['doubled']} doubled; "
            f"{d['journey_starts_per_s']:g} starts/s"
        )
    return ""


def markdown(results: Sequence[dict[str, Any]]) -> str:
    rows = [
        "| measure | database | ours | baseline (same run) | unit | ratio | goal | met | detail |",
        "|---|---|---:|---:|---|---:|---|---|---|",
    ]
    for r in results:
        goals = r["details"].get("goals", [])
        goal = ", ".join(f"{g['what']} {g['op']} {g['value']:g}" for g in goals) or "—"
        met = _met(r)
        rows.append(
            f"| {r['measure']} | {r['database']} | {r['ours']} | {r['baseline']} | {r['unit']} "
            f"| {'—' if r['ratio'] is None else r['ratio']} | {goal} "
            f"| {'—' if met is None else 'yes' if met else 'no'} | {_detail(r)} |"
        )
    return "\n".join(rows) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("results", nargs="+", type=Path, help="results JSON files")
    p.add_argument("--svg", type=Path, help="write the chart here")
    p.add_argument("--markdown", action="store_true", help="print the table (Markdown)")
    args = p.parse_args()
    results, header = load(args.results)
    if args.svg:
        args.svg.parent.mkdir(parents=True, exist_ok=True)
        args.svg.write_text(svg(results, header))
        print(f"chart: {args.svg}")
    if args.markdown or not args.svg:
        print(markdown(results))


if __name__ == "__main__":
    main()
