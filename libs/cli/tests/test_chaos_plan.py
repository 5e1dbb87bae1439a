"""The chaos run's plan: the same seed gives the same faults and cohort; every process (or
every kind) is hit; the cohort keeps the platform busy until the last fault, and no longer."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date
from typing import Any

from v2v_cli.chaos.cohort import DESIGNS, CohortRun, Journey, journey_at
from v2v_cli.chaos.faults import FaultKind, Schedule, kind_of, targets
from v2v_cli.journeys import Patient, Plan

TODAY = date(2026, 11, 30)


def test_the_minimum_hits_every_process_once() -> None:
    every = [f.target for f in Schedule(7, every_process=True, gap_s=(1, 2)).minimum()]
    assert sorted(every) == sorted(t for kind in FaultKind for t in targets(kind))
    assert len(every) == 4 * 3 + 2 + 2  # 4 services x 3 roles, worker, bridge, Kafka, Temporal


def test_the_reduced_run_hits_each_kind_once_and_stops() -> None:
    schedule = Schedule(7, every_process=False, gap_s=(1, 2))
    faults = list(schedule)  # finite: no rounds after the minimum
    assert sorted(f.kind for f in faults) == sorted(FaultKind)
    assert all(kind_of(f.target) is f.kind for f in faults)
    assert all(1 <= f.gap_s <= 2 for f in faults)


def test_the_full_run_goes_on_in_rounds_of_every_process() -> None:
    schedule = iter(Schedule(7, every_process=True, gap_s=(1, 2)))
    first_two_rounds = [next(schedule).target for _ in range(32)]
    assert sorted(first_two_rounds[16:]) == sorted(first_two_rounds[:16])


def test_a_seed_repeats_its_faults_and_another_differs() -> None:
    def plan(seed: int) -> list[tuple[str, float]]:
        faults = Schedule(seed, every_process=True, gap_s=(1, 9))
        return [(f.target, f.gap_s) for f in itertools.islice(faults, 40)]

    assert plan(3) == plan(3)
    assert plan(3) != plan(4)


def test_the_cohort_takes_each_design_first_then_draws_them() -> None:
    cohort = [journey_at(5, "T", TODAY, i) for i in range(40)]
    assert [j.design for j in cohort[: len(DESIGNS)]] == list(DESIGNS)
    assert {j.design for j in cohort} == set(DESIGNS)
    assert len({j.patient.mrn for j in cohort}) == 40
    assert [j.design for j in cohort] == [journey_at(5, "T", TODAY, i).design for i in range(40)]
    # both sites take part, each journey within one site
    sites = {(j.patient.treatment_center, j.patient.manufacturing_site) for j in cohort}
    assert sites == {
        ("treatment-center-1", "manufacturing-site-1"),
        ("treatment-center-2", "manufacturing-site-2"),
    }


def test_extra_journeys_and_a_cohort_without_late_apheresis_never_wait_out_the_window() -> None:
    assert not any(journey_at(5, "T", TODAY, i, extra=True).design.late for i in range(60))
    assert not any(journey_at(5, "T", TODAY, i, late=False).design.late for i in range(60))


class FakeDriver:
    """Walks a journey in a moment; counts how many walk at once; fails one patient."""

    def __init__(self, fail_mrn: str = "") -> None:
        self.walking = 0
        self.most = 0
        self.fail_mrn = fail_mrn

    async def enroll(self, p: Patient) -> str:
        return f"COI-{p.mrn}"

    async def journey(self, p: Patient, plan: Plan, coi: str | None = None) -> str:
        self.walking += 1
        self.most = max(self.most, self.walking)
        await asyncio.sleep(0.01)
        self.walking -= 1
        if p.mrn == self.fail_mrn:
            raise RuntimeError("step refused")
        return coi or ""


def cohort_run(driver: FakeDriver, size: int, ended: list[Journey]) -> CohortRun:
    def make(i: int, extra: bool) -> Journey:
        return journey_at(1, "T", TODAY, i, extra=extra)

    fake: Any = driver
    return CohortRun(fake, make, size, concurrency=3, on_end=ended.append)


async def test_the_cohort_runs_its_size_a_few_at_a_time_and_reports_failures() -> None:
    driver, ended = FakeDriver(fail_mrn=journey_at(1, "T", TODAY, 4).patient.mrn), []
    run = cohort_run(driver, 10, ended)
    await run.run()
    assert run.finished.is_set() and run.done == 10 and len(ended) == 10
    assert driver.most == 3
    failed = [j for j in run.journeys if j.error]
    assert [j.index for j in failed] == [5] and "step refused" in str(failed[0].error)
    assert not any(j.extra for j in run.journeys)


async def test_the_cohort_goes_on_with_extra_journeys_while_asked() -> None:
    driver, ended = FakeDriver(), []
    run = cohort_run(driver, 4, ended)
    await run.run(more=lambda: len(run.journeys) < 9)
    assert len(run.journeys) == 9 and run.done == 9
    assert [j.extra for j in run.journeys] == [False] * 4 + [True] * 5
