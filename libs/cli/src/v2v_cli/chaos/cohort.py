"""The cohort: journeys of several designed paths, driven through the HTTP APIs a few at a
time, each remembering what it expects Temporal to report at its end."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from v2v_cli.journeys import Driver, Patient, Plan
from v2v_cli.stack.platform import DEMO_PRODUCT

# Every third patient is of the second site: both sites' people and processes take part.
SITE_2_EVERY = 3
# Every journey holds an infusion slot within 28 days of today; the chaos network offers
# 15 a day at each center and site (chaos_platform): room for this many, two thirds at the
# first site, with re-manufactures.
MAX_JOURNEYS = 250
_LOG_LINES = 30  # the driver's last lines kept per journey, shown when it fails


@dataclass(frozen=True)
class Design:
    name: str
    outcome: str  # the journey's outcome in Temporal when it went as designed
    weight: int
    oos: bool = False
    withdrawn: bool = False
    late: bool = False

    @property
    def collections(self) -> int:
        """Apheresis collections the journey makes: a late one is collected again."""
        return 2 if self.late else 1

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
    extra: bool = False  # started beyond the cohort's size to keep the load up (journey_at)

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


def journey_at(
    seed: int, tag: str, today: date, i: int, *, extra: bool = False, late: bool = True
) -> Journey:
    """Journey ``i`` (from 0) of a run, the same for the same seed: the first take each design
    in turn, the rest are drawn by weight. Without ``late``, and for ``extra`` journeys (they
    only keep the platform busy until the last fault), no design that waits out the fresh
    window (minutes). ``tag`` keeps this run's record numbers apart from any other run's."""
    rng = random.Random(f"{seed}/cohort/{i}")
    designs = [d for d in DESIGNS if (late and not extra) or not d.late]
    if i < len(designs):
        design = designs[i]
    else:
        design = rng.choices(designs, [d.weight for d in designs])[0]
    site = "2" if i % SITE_2_EVERY == SITE_2_EVERY - 1 else "1"
    patient = Patient(
        name=f"Chaos Testperson {i + 1}",
        birth_date=f"{1950 + i % 40}-0{1 + i % 9}-1{i % 10}",
        mrn=f"MRN-CH{tag}-{i + 1:04d}",
        product_code=DEMO_PRODUCT,
        treatment_center=f"treatment-center-{site}",
        apheresis_center=f"apheresis-center-{site}",
        manufacturing_site=f"manufacturing-site-{site}",
        earliest_collection=today,
    )
    return Journey(i + 1, design, patient, extra=extra)


class CohortRun:
    """Drives ``size`` journeys, ``concurrency`` at a time, and then more (``extra``) for as
    long as ``more()`` says so, up to ``MAX_JOURNEYS``: the faults must hit a busy platform.
    ``finished`` is set once every journey started has ended."""

    def __init__(
        self,
        driver: Driver,
        make: Callable[[int, bool], Journey],
        size: int,
        concurrency: int,
        on_end: Callable[[Journey], None],
    ) -> None:
        self.driver = driver
        self.journeys: list[Journey] = []
        self._make = make
        self._size = min(size, MAX_JOURNEYS)
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

    async def run(self, more: Callable[[], bool] = lambda: False) -> None:
        running: set[asyncio.Task[None]] = set()
        try:
            for i in range(MAX_JOURNEYS):
                await self._slots.acquire()
                extra = i >= self._size
                if extra and not more():
                    self._slots.release()
                    break
                journey = self._make(i, extra)
                self.journeys.append(journey)
                task = asyncio.create_task(self._one(journey))
                running.add(task)
                task.add_done_callback(running.discard)
            await asyncio.gather(*running)
        finally:
            for task in running:
                task.cancel()
            self.finished.set()

    async def _one(self, journey: Journey) -> None:
        journey.started = time.monotonic()
        try:
            journey.coi = await self.driver.enroll(journey.patient)
            self._by_coi[journey.coi] = journey
            await self.driver.journey(journey.patient, journey.design.plan(), journey.coi)
        except Exception as exc:  # any failure ends this journey only: it is reported
            journey.error = f"{type(exc).__name__}: {exc}"
        finally:
            journey.ended = time.monotonic()
            self._slots.release()
            self._on_end(journey)
