"""``v2v audit verify``: check a service's event store hash chains for tampering."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer
from rich.console import Console

from v2v_runtime.audit import AuditReport, verify
from v2v_runtime.db.engine import create_engine, session_factory

app = typer.Typer(help="Audit-trail integrity of the event stores.", no_args_is_help=True)
console = Console()


async def _verify(url: str) -> AuditReport:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return await verify(session)
    finally:
        await engine.dispose()


@app.command("verify")
def verify_cmd(
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="the service's database [env V2V_DATABASE_URL]"),
    ] = None,
) -> None:
    """Recompute every event's hash and chain; name each altered, removed or reordered row.

    Exit code 0: intact. 1: tampering found. 2: the database could not be read.
    """
    url = database_url or os.environ.get("V2V_DATABASE_URL")
    if not url:
        console.print("[red]give --database-url or set V2V_DATABASE_URL[/red]")
        raise typer.Exit(2)
    try:
        report = asyncio.run(_verify(url))
    except Exception as exc:
        console.print(f"[red]could not read the event store: {type(exc).__name__}: {exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"checked {report.events_checked} events in {report.streams_checked} streams")
    if report.ok:
        console.print("[green]audit trail intact[/green]")
        return
    for finding in report.findings:
        console.print(f"[red]TAMPERED[/red] {finding}")
    console.print(f"[red]{len(report.findings)} finding(s)[/red]")
    raise typer.Exit(1)
