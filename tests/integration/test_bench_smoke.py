"""The benchmark instrument must not rot: each measure runs with a tiny N on the real stack
(the session's Kafka, Temporal, PostgreSQL and platform) and writes a well-formed result.

Nothing here asserts a timing or a ratio: those are for `python -m bench.run_all` on a quiet
box (docs/performance.md). Outcomes are checked only where the measure must account for every
item (each journey completed, failed or lost; each request answered or refused).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import catchup, cohort, commands, latency
from bench.harness import Result, validate, write_results
from bench.stack import Bench
from v2v_cli.journeys import Endpoints
from v2v_cli.testing import ProvisionedStack

pytestmark = pytest.mark.integration


def written(results: list[Result], out: Path) -> list[dict[str, object]]:
    """Write the results as the CLIs do; read them back, checked for the common shape."""
    doc = json.loads(write_results("smoke", results, {"smoke": True}, out).read_text())
    validate(doc)
    rows: list[dict[str, object]] = doc["results"]
    return rows


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
async def test_catchup_measure(stack: ProvisionedStack, tmp_path: Path, db: str) -> None:
    bench = Bench(stack, scratch=tmp_path)
    (row,) = written(await catchup.measure(bench, db, n=20, limit_s=60), tmp_path)
    assert (row["measure"], row["database"], row["unit"]) == ("catchup", db, "msg/s")
    assert isinstance(row["ours"], float) and isinstance(row["baseline"], float)
    assert row["details"]["n"] == 20  # type: ignore[index]


async def test_commands_measure(stack: ProvisionedStack, tmp_path: Path) -> None:
    bench = Bench(stack, scratch=tmp_path)
    results = await commands.measure(bench, "sqlite", levels=(1, 2), requests=4, settle_s=0)
    rows = written(results, tmp_path)
    assert [r["measure"] for r in rows] == ["commands-1", "commands-2"]
    for row in rows:
        details = row["details"]
        assert isinstance(details, dict)
        # every request accounted for: answered 201, or refused with its reason kept
        assert sum(details["outcomes"].values()) == 4
        assert details["ok"] == 4, details["errors"]
    assert [g["what"] for g in rows[1]["details"]["goals"]] == ["ratio", "p99_ms"]  # type: ignore[index]


async def test_latency_measure(
    stack: ProvisionedStack, platform: Endpoints, tmp_path: Path
) -> None:
    bench = Bench(stack, scratch=tmp_path)
    results = await latency.measure(bench, platform, "sqlite", patients=2, raw_samples=5)
    (row,) = written(results, tmp_path)
    details = row["details"]
    assert isinstance(details, dict)
    assert details["patients"] == 2 and details["failures"] == []
    for key in ("p50_ms", "p99_ms", "first_hop_p50_ms", "baseline_p99_ms"):
        assert details[key] > 0, key


async def test_cohort_measure(stack: ProvisionedStack, platform: Endpoints, tmp_path: Path) -> None:
    bench = Bench(stack, scratch=tmp_path)
    results = await cohort.measure(bench, platform, "sqlite", n=2, drivers=2, limit_s=120)
    (row,) = written(results, tmp_path)
    details = row["details"]
    assert isinstance(details, dict)
    # every journey is accounted for, whatever its fate (the bench reports, never hides)
    assert details["completed"] + details["failed"] + details["lost"] == 2
    assert row["ours"] == details["completed"] and row["baseline"] == 2
    assert len(details["failures"]) == details["failed"] + details["lost"]
