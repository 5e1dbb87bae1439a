"""The chaos run from start to verdict: the throwaway platform, the cohort with the faults
injected meanwhile, then settle, reconcile, compare with a rebuild, report, tear down."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from v2v_cli.chaos import kafka_log, rebuild_check, report
from v2v_cli.chaos.chaos_platform import ChaosPlatform
from v2v_cli.chaos.cohort import CohortRun, Journey, journey_at
from v2v_cli.chaos.doubles import doubled_effects
from v2v_cli.chaos.evidence import Evidence
from v2v_cli.chaos.faults import TITLES, Schedule
from v2v_cli.chaos.injector import FaultResult, Injector
from v2v_cli.chaos.journeys_check import bridge_skips, check_journeys
from v2v_cli.chaos.reconcile import reconcile
from v2v_cli.chaos.settle import settle
from v2v_cli.journeys import Driver
from v2v_cli.stack.platform import SERVICES
from v2v_runtime.db.engine import create_engine

Say = Callable[[str], None]


@dataclass(frozen=True)
class ChaosOptions:
    journeys: int = 100
    seed: int = 1
    concurrency: int = 10
    # The full run kills every process in turn (and again while journeys remain); the
    # reduced run one process of each kind.
    every_process: bool = True
    gap_s: tuple[float, float] = (5.0, 20.0)
    step_timeout_s: float = 300.0
    # journeys whose apheresis arrives too late (they wait out the policy's fresh window)
    late_apheresis: bool = True
    data_dir: Path | None = None
    keep: bool = False  # keep the data dir (logs, databases) afterwards
    oidc_issuer: str | None = None  # a running Keycloak with the realm; else one of its own


async def run_chaos(options: ChaosOptions, say: Say) -> report.Report:
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="v2v-chaos-"))
    say(f"chaos platform in {data_dir} (PostgreSQL, one process per role)…")
    begun = time.monotonic()
    plat = await asyncio.to_thread(ChaosPlatform.start, data_dir, say, options.oidc_issuer)
    say(f"chaos platform up in {time.monotonic() - begun:.0f} s")
    engines = {s: create_engine(plat.database_urls[s]) for s in SERVICES}
    started = time.monotonic()
    keep = options.keep
    try:
        found = await _run(options, plat, engines, started, say)
        if not found.ok and not keep:
            keep = True
            say(f"the verdict failed; the data dir (logs, databases) stays: {data_dir}")
        return found
    except BaseException:
        keep = True
        say(f"the run broke off; its data dir stays for a look: {data_dir}")
        raise
    finally:
        for engine in engines.values():
            await engine.dispose()
        await asyncio.to_thread(plat.close, keep)


async def _run(
    options: ChaosOptions,
    plat: ChaosPlatform,
    engines: dict[str, AsyncEngine],
    started: float,
    say: Say,
) -> report.Report:
    def clock() -> str:
        return f"[{time.monotonic() - started:6.0f} s]"

    tag, today = uuid.uuid4().hex[:6].upper(), _today()
    driver = Driver(
        plat.api,
        log=lambda _: None,
        timeout=options.step_timeout_s,
        unreachable_s=options.step_timeout_s,
    )

    def ended(j: Journey) -> None:
        state = "done" if j.error is None else f"FAILED: {j.error}"
        say(
            f"{clock()} journey {j.index} {j.coi} ({j.design.name}) {state} in {j.seconds:.0f} s"
            f" — {run.done}/{len(run.journeys)} done, {run.in_flight} in flight"
        )

    run = CohortRun(
        driver,
        lambda i, extra: journey_at(
            options.seed, tag, today, i, extra=extra, late=options.late_apheresis
        ),
        options.journeys,
        options.concurrency,
        ended,
    )
    driver.log = run.log
    bases = {s: getattr(plat.api, s) for s in SERVICES}
    evidence = Evidence(engines, plat.endpoints["kafka_bootstrap"], driver.stats, bases)
    injector = Injector(plat, evidence, driver.stats, started=started)
    schedule = Schedule(options.seed, every_process=options.every_process, gap_s=options.gap_s)
    results: list[FaultResult] = []
    minimum_done = asyncio.Event()

    async def faults() -> None:
        try:
            await inject_all()
        finally:
            minimum_done.set()

    async def inject_all() -> None:
        minimum = len(schedule.minimum())
        for n, fault in enumerate(schedule):
            if n == minimum:
                minimum_done.set()
            if n >= minimum and run.finished.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.finished.wait(), fault.gap_s)
                if n >= minimum:
                    return  # every journey ended: no more faults to hit them
            result = await injector.inject(fault)
            results.append(result)
            ready = "-" if result.ready_s is None else f"{result.ready_s:.1f} s"
            working = "-" if result.working_s is None else f"{result.working_s:.1f} s"
            error = f" — {result.error}" if result.error else ""
            say(
                f"{clock()} fault {n + 1}: {TITLES[fault.kind]} ({fault.target}): ready again "
                f"in {ready}, working again in {working}{error}"
            )

    try:
        # The cohort goes on (extra journeys) until every process was hit once at least.
        await asyncio.gather(run.run(more=lambda: not minimum_done.is_set()), faults())
        say(f"{clock()} cohort done; waiting for the platform to settle…")
        bootstrap = plat.endpoints["kafka_bootstrap"]
        not_quiet = await settle(engines, bootstrap)
        # The verdict is taken at rest: nothing may write meanwhile (the relays' sealers
        # would). Everything but the relays stops, the relays publish what is left, stop.
        await plat.stop_roles("api", "consumer", "worker", "bridge")
        not_quiet += await settle(engines, bootstrap, consumers=False)
        await plat.stop_roles("relay")
        say(f"{clock()} platform at rest; reading every topic and reconciling…")
        records = await kafka_log.read_all(bootstrap, kafka_log.published_topics())
        dead = await kafka_log.read_all(bootstrap, kafka_log.dead_letter_topics())
        client = await Client.connect(
            plat.endpoints["temporal_address"], data_converter=pydantic_data_converter
        )
        skipped = bridge_skips(plat.process("journey-bridge").log_file)
        verdict = await check_journeys(client, run.journeys, records, skipped)
        delivery = await reconcile(engines, records, dead)
        designed = {j.coi: j.design.collections for j in run.journeys if j.coi}
        delivery.doubled += await doubled_effects(engines, designed)
        say(f"{clock()} comparing read models with a rebuild…")
        rows, diffs = await rebuild_check.compare(engines, plat.database_urls)
    finally:
        await driver.close()
    return report.build(
        seed=options.seed,
        concurrency=options.concurrency,
        seconds=time.monotonic() - started,
        results=results,
        journeys=run.journeys,
        verdict=verdict,
        delivery=delivery,
        read_model_rows=rows,
        read_model_diffs=diffs,
        not_quiet=not_quiet,
    )


def _today() -> date:
    return datetime.now(UTC).date()
