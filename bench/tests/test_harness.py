"""The instrument's own arithmetic and output, without a stack: percentiles, ratios and goals,
the results file's shape, the chart, and the patients the measures send."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench import chart
from bench.harness import Goal, Result, latency_summary, percentile, validate, write_results
from bench.patients import (
    SPREAD_DAYS,
    SPREAD_FROM_DAYS,
    earliest_collection,
    enrolment_body,
    facility_id,
    sites,
    today,
    weighted,
)
from v2v_custody.adapters.config import load_sites
from v2v_custody.application.enroll import EnrollPatient
from v2v_custody.domain.isbt128 import validate_facility_id
from v2v_logistics.adapters.config import load_network


def test_percentiles_are_nearest_rank_observed_values() -> None:
    samples = [float(x) for x in range(1, 101)]  # 1 … 100
    assert percentile(samples, 50) == 50
    assert percentile(samples, 99) == 99
    assert percentile(samples, 100) == 100
    assert percentile([0.25], 99) == 0.25
    summary = latency_summary([0.010, 0.020, 0.030, 0.040])
    assert summary == {"p50_ms": 20.0, "p95_ms": 40.0, "p99_ms": 40.0, "max_ms": 40.0}
    with pytest.raises(ValueError):
        percentile([], 50)


def test_ratio_is_ours_over_baseline_and_goals_are_judged() -> None:
    throughput = Result("catchup", "sqlite", 200.0, 4000.0, "msg/s")
    throughput.judge(Goal("ratio", ">=", 0.5))
    assert throughput.ratio == 0.05
    assert throughput.details["goals"] == [
        {"what": "ratio", "op": ">=", "value": 0.5, "actual": 0.05, "met": False}
    ]
    latency = Result("latency-p99", "sqlite", 30.0, 12.0, "ms", {"p99_ms": 30.0})
    latency.judge(Goal("ratio", "<=", 10), Goal("p99_ms", "<=", 250))
    assert [g["met"] for g in latency.details["goals"]] == [True, True]
    # No baseline (or none measured): no ratio, and a goal on it is not met.
    lone = Result("x", "sqlite", 1.0, None, "u")
    lone.judge(Goal("ratio", ">=", 0.5))
    assert lone.ratio is None
    assert lone.details["goals"][0]["met"] is False


def _doc(tmp_path: Path) -> dict[str, Any]:
    results = [
        Result("catchup", "sqlite", 200.0, 4000.0, "msg/s", {"n": 10, "relay_alone_msgs_per_s": 1}),
        Result("cohort", "postgresql", 3.0, 4.0, "journeys"),
    ]
    results[0].judge(Goal("ratio", ">=", 0.5))
    results[1].details.update(failed=1, lost=0, doubled=0, journey_starts_per_s=2.0)
    results[1].judge(Goal("failed", "<=", 0))
    path = write_results("unit", results, {"n": 10}, tmp_path)
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def test_results_file_has_the_common_shape(tmp_path: Path) -> None:
    doc = _doc(tmp_path)
    validate(doc)
    first = doc["results"][0]
    assert set(first) == {
        "measure",
        "database",
        "ours",
        "baseline",
        "ratio",
        "unit",
        "details",
        "git_commit",
        "date",
    }
    assert first["ratio"] == 0.05
    assert doc["machine"]["cpus"]
    broken = {**doc, "results": [{k: v for k, v in first.items() if k != "baseline"}]}
    with pytest.raises(ValueError, match="baseline"):
        validate(broken)


def test_chart_is_svg_with_a_row_per_result_and_the_table_says_whether_goals_are_met(
    tmp_path: Path,
) -> None:
    doc = _doc(tmp_path)
    results = doc["results"]
    drawing = chart.svg(results, doc)
    root = ET.fromstring(drawing)
    assert root.tag.endswith("svg")
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "catchup · sqlite" in texts
    assert "cohort · postgresql" in texts
    assert any(t.startswith("0.05 (goal ≥ 0.5)") for t in texts)
    table = chart.markdown(results)
    assert "| catchup | sqlite | 200.0 | 4000.0 | msg/s | 0.05 | ratio >= 0.5 | no |" in table
    assert "1 failed, 0 lost, 0 doubled" in table


def test_patients_are_distinct_and_valid_for_custody() -> None:
    sites = load_sites()
    bodies = [enrolment_body("run1", i) for i in range(400)]
    assert len({b["medical_record_number"] for b in bodies}) == 400
    for body in bodies:
        cmd = EnrollPatient.model_validate(body)  # the API's own request model
        sites.check_enrollment(
            treatment_center=cmd.treatment_center,
            apheresis_center=cmd.apheresis_center,
            manufacturing_site=cmd.manufacturing_site,
        )
        offset = (cmd.earliest_collection - today()).days
        assert SPREAD_FROM_DAYS <= offset < SPREAD_FROM_DAYS + SPREAD_DAYS <= 180
    # every site is used, and the dates spread over the window
    assert {b["manufacturing_site"] for b in bodies} == set(sites.manufacturing_sites)
    assert len({earliest_collection(i) for i in range(400)}) > 100
    assert enrolment_body("run2", 0)["medical_record_number"] != bodies[0]["medical_record_number"]
    assert isinstance(earliest_collection(0), date)
    assert earliest_collection(0) - today() == timedelta(days=SPREAD_FROM_DAYS)
    # beyond the cohort's reach: its journeys (earliest today) search this many days ahead
    assert load_network().scheduling_horizon_days < SPREAD_FROM_DAYS


def test_sites_are_taken_in_proportion_to_their_slots() -> None:
    assert weighted(["b", "a"], {"a": 4, "b": 2}.__getitem__) == ["a", "a", "b"]
    assert weighted(["a", "b"], lambda _: 0) == ["a", "b"]
    network = load_network()
    tcs, _, mss = sites()
    # e.g. 4 and 2 manufacturing slots a weekday: two patients of three at the first site
    for cycle, slots in (
        (mss, {n: s.slots_per_day for n, s in network.manufacturing_sites.items()}),
        (tcs, {n: c.infusion_slots_per_day for n, c in network.treatment_centers.items()}),
    ):
        total = sum(slots.values())
        for name, per_day in slots.items():
            assert cycle.count(name) / len(cycle) == per_day / total


def test_facility_ids_are_valid_and_fresh() -> None:
    ids = {facility_id("P") for _ in range(50)}
    assert len(ids) > 40
    for fid in ids:
        assert validate_facility_id(fid) == fid
