"""``v2v chaos``: journeys on a throwaway platform while its processes are killed and its
broker and Temporal restarted; then the proof that nothing was lost, doubled or stuck."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from v2v_cli.chaos.report import fault_table, verdict_table
from v2v_cli.chaos.run import ChaosOptions, run_chaos
from v2v_cli.output import console, print_table
from v2v_cli.stack import StackError


def chaos(
    journeys: Annotated[int, typer.Option(min=1, help="journeys in the cohort")] = 100,
    seed: Annotated[int, typer.Option(help="the same seed, the same cohort and faults")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, help="journeys in flight at a time")] = 10,
    one_per_kind: Annotated[
        bool,
        typer.Option(
            "--one-per-kind",
            help="one fault of each kind (the reduced run) instead of every process in turn",
        ),
    ] = False,
    gap: Annotated[
        tuple[float, float],
        typer.Option(help="seconds between faults: a seeded draw between MIN and MAX"),
    ] = (5.0, 20.0),
    step_timeout: Annotated[
        float, typer.Option(help="seconds a journey waits for one step before it counts as stuck")
    ] = 300.0,
    late_apheresis: Annotated[
        bool,
        typer.Option(
            help="include journeys whose apheresis arrives too late and is re-collected "
            "(each waits out the chaos policy's 150 s fresh window)"
        ),
    ] = True,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="also write the report as JSON here")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="the run's data dir [default: a new temp dir]")
    ] = None,
    keep: Annotated[
        bool, typer.Option(help="keep the data dir (logs, databases) afterwards")
    ] = False,
) -> None:
    """Drive a cohort of journeys through the HTTP APIs on a throwaway platform (its own
    Kafka, Temporal, Keycloak, PostgreSQL on free ports; each role its own process) while
    kill -9 hits each role in turn and the broker and Temporal restart; then check that every
    journey ended as designed, no message was lost or applied twice (outbox, topics, inboxes),
    and the read models equal a rebuild. Exit code 1 unless all holds."""
    options = ChaosOptions(
        journeys=journeys,
        seed=seed,
        concurrency=concurrency,
        every_process=not one_per_kind,
        gap_s=gap,
        step_timeout_s=step_timeout,
        late_apheresis=late_apheresis,
        data_dir=data_dir,
        keep=keep,
    )
    # The run's own Kafka clients meet the broker it restarts: their errors are expected.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        found = asyncio.run(run_chaos(options, lambda m: console.print(m, highlight=False)))
    except StackError as exc:
        console.print(f"[bold red]chaos platform failed:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    print_table(fault_table(found))
    print_table(verdict_table(found))
    for kind, items in found.findings.items():
        console.print(f"[bold]{kind}[/]", highlight=False)
        for item in items:
            console.print(f"  {item}", highlight=False)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(found.to_json(), indent=2) + "\n")
        console.print(f"report: {json_path}", highlight=False)
    if not found.ok:
        raise typer.Exit(1)


def register_top_level(root: typer.Typer) -> None:
    root.command()(chaos)
