"""``v2v journey reopen``: an operator opens a new run for a journey that ended.

A replayed or duplicated enrolment never restarts a finished journey; this command is the
only way, and it records who did it and why (the journey's hash-chained store, and the new
run's details in the Temporal UI).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated

import typer

from v2v_cli.commands.stack import DataDirOption, _stack
from v2v_cli.output import console
from v2v_events.ids import COI_PATTERN
from v2v_journey.registrations.reopen import reopen_journey
from v2v_journey.settings import JourneySettings
from v2v_journey.worker import connect, registrations
from v2v_runtime.errors import DomainError

app = typer.Typer(help="Operator actions on patient journeys.", no_args_is_help=True)


def _settings(
    data_dir: Path | None, database_url: str | None, temporal: str | None
) -> JourneySettings:
    """Explicit options, else V2V_* environment, else the local platform's endpoints."""
    settings = JourneySettings()
    overrides: dict[str, str] = {}
    if database_url:
        overrides["database_url"] = database_url
    if temporal:
        overrides["temporal_address"] = temporal
    if not (database_url and temporal):
        endpoints = _stack(data_dir).endpoints()
        overrides.setdefault("database_url", endpoints["database_urls"]["journey"])
        overrides.setdefault("temporal_address", endpoints["temporal_address"])
        overrides.setdefault("temporal_namespace", endpoints["temporal_namespace"])
    return settings.model_copy(update=overrides)


async def _reopen(settings: JourneySettings, coi: str, operator: str, reason: str) -> str:
    client = await connect(settings)
    store, engine = registrations(settings)
    try:
        return await reopen_journey(
            client,
            store,
            coi,
            operator=operator,
            reason=reason,
            task_queue=settings.task_queue,
        )
    finally:
        await engine.dispose()


@app.command("reopen")
def reopen(
    coi: Annotated[str, typer.Argument(help="chain-of-identity id")],
    operator: Annotated[str, typer.Option("--operator", help="who reopens it (recorded)")],
    reason: Annotated[str, typer.Option("--reason", help="why (recorded)")],
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="the journey's database")
    ] = None,
    temporal: Annotated[
        str | None, typer.Option("--temporal-address", help="Temporal frontend host:port")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Start a new run of journey-<CoI> after it ended (refused while it runs).

    Exit code 0: started. 1: refused (still running, not registered, no reason). 2: error.
    """
    if not re.fullmatch(COI_PATTERN, coi):
        console.print(f"[red]{coi!r} is not a chain-of-identity id[/red]")
        raise typer.Exit(1)
    settings = _settings(data_dir, database_url, temporal)
    try:
        run_id = asyncio.run(_reopen(settings, coi, operator, reason))
    except DomainError as exc:
        console.print(f"[red]refused: {exc.detail}[/red]")
        raise typer.Exit(1) from exc
    except Exception as exc:
        console.print(f"[red]could not reopen: {type(exc).__name__}: {exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"journey-{coi} reopened by {operator}: new run {run_id}")
