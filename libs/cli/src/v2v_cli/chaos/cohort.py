"""The cohort: journeys of several designed paths, driven through the HTTP APIs a few at a
time, each remembering what it expects Temporal to report at its end."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from v2v_cli.journeys import Driver, Patient, Plan
from v2v_cli.stack.platform import DEMO_PRODUCT

# The treatment center of the demo users infuses 10 patients a week and looks 28 days
# ahead for a slot: enrolling 6 patients per week of earliest collection leaves room for the
# journeys that book again (re-manufacture, re-collection) — no journey waits for a slot.
PER_WEEK = 6
_LOG_LINES = 30  # the driver's last lines kept per journey, shown when it fails


@dataclass(frozen=True)
class Design:
    name: str
    outcome: str  # the journey's outcome in Temporal when it went as designed
    weight: int
    oos: bool = False
    withdrawn: bool = False
    late: bool = False

    def plan(self) -> Plan:
        return Plan(
            oos_attempts={1} if self.oos else set(),
            withdrawn_after_release={1} if self.withdrawn else set(),
            late_collection_attempts={1} if self.late else set(),
        )


# The first journeys take each design in this order; the rest are drawn by weight. The late
# apheresis waits out the policy's fresh window (minutes): it comes last.
DESIGNS = (
    Design("straight through", "completed", weight=5),
    Design("fails QC, re-manufactured", "completed-after-remanufacture", weight=2, oos=True),
    Design(
        "lot withdrawn after release, re-manufactured",
        "completed-after-remanufacture",
        weight=2,
        withdrawn=True,
    ),
    Design("apheresis late, re-collected", "completed-after-recollection", weight=1, late=True),
)


@dataclass
class Journey:
    index: int
    design: Design
    patient: Patient
    coi: str | None = None
    started: float | None = None  # time.monotonic()
    ended: float | None = None
    error: str | None = None
    log: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


def cohort(seed: int, size: int, tag: str, today: date) -> list[Journey]:
    """``size`` journeys, the same designs for the same seed; ``tag`` keeps this run's record
    numbers apart from any other run's."""
    rng = random.Random(f"{seed}/cohort")
    weights = [d.weight for d in DESIGNS]
    journeys = []
    for i in range(size):
        design = DESIGNS[i] if i < len(DESIGNS) else rng.choices(DESIGNS, weights)[0]
        patient = Patient(
            name=f"Chaos Testperson {i + 1}",
            birth_date=f"{1950 + i % 40}-0{1 + i % 9}-1{i % 10}",
            mrn=f"MRN-CH{tag}-{i + 1:04d}",
            product_code=DEMO_PRODUCT,
            earliest_collection=today + timedelta(weeks=i // PER_WEEK),
        )
        journeys.append(Journey(i + 1, design, patient))
    return journeys


class CohortRun:
    """Drives the journeys, ``concurrency`` at a time; ``done`` tells who is finished."""

    def __init__(
        self,
        driver: Driver,
        journeys: list[Journey],
        concurrency: int,
        on_end: Callable[[Journey], None],
    ) -> None:
        self.driver = driver
        self.journeys = journeys
        self._slots = asyncio.Semaphore(concurrency)
        self._on_end = on_end
        self._by_coi: dict[str, Journey] = {}
        self.finished = asyncio.Event()

    def log(self, line: str) -> None:
        """The driver's lines start with the CoI: each journey keeps its own."""
        found = self._by_coi.get(line.split(":", 1)[0])
        if found is not None:
            found.log = [*found.log[-(_LOG_LINES - 1) :], line]

    @property
    def done(self) -> int:
        return sum(j.ended is not None for j in self.journeys)

    @property
    def in_flight(self) -> int:
        return sum(j.started is not None and j.ended is None for j in self.journeys)

    async def run(self) -> None:
        try:
            await asyncio.gather(*(self._one(j) for j in self.journeys))
        finally:
            self.finished.set()

    async def _one(self, journey: Journey) -> None:
        async with self._slots:
            journey.started = time.monotonic()
            try:
                journey.coi = await self.driver.enroll(journey.patient)
                self._by_coi[journey.coi] = journey
                await self.driver.journey(journey.patient, journey.design.plan(), journey.coi)
            except Exception as exc:  # any failure ends this journey only: it is reported
                journey.error = f"{type(exc).__name__}: {exc}"
            finally:
                journey.ended = time.monotonic()
                self._on_end(journey)
