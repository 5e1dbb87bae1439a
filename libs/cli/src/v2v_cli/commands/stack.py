"""``v2v stack up|down|status``: the native local stack (Kafka, Temporal, Keycloak,
PostgreSQL)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from v2v_cli.stack import Stack, StackConfig, StackError

app = typer.Typer(
    help="Run Kafka, Temporal, Keycloak and (opt-in) PostgreSQL locally, without Docker.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where logs, pid files and server data live [env V2V_STACK_DATA_DIR; default ./.v2v]",
        file_okay=False,
    ),
]
_STATE_STYLE = {"running": "green", "stopped": "dim", "unhealthy": "bold red"}


def _stack(data_dir: Path | None) -> Stack:
    try:
        config = StackConfig.from_env()
    except StackError as exc:
        _fail(exc)
    return Stack(config.replace(data_dir=data_dir) if data_dir is not None else config)


def _fail(exc: StackError) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(1)


def _progress(message: str) -> None:
    console.print(f"[cyan]•[/] {message}", highlight=False)


def up(
    postgres: Annotated[
        bool, typer.Option("--postgres", help="Also run PostgreSQL (default storage: SQLite).")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Start the local stack (again is harmless: running parts are left alone)."""
    stack = _stack(data_dir)
    started = time.monotonic()
    try:
        endpoints = stack.up(postgres=postgres, progress=_progress)
    except StackError as exc:
        _fail(exc)
    console.print(f"[bold green]Stack up[/] in {time.monotonic() - started:.1f} s")
    console.print(f"  Kafka bootstrap:  {endpoints['kafka_bootstrap']}")
    console.print(f"  Temporal:         {endpoints['temporal_address']}")
    console.print(f"  Temporal Web UI:  {endpoints['temporal_ui_url']}")
    console.print(f"  OIDC issuer:      {endpoints['oidc_issuer']}")
    console.print(f"  Storage:          {endpoints['storage']}")
    console.print(f"  Endpoints file:   {stack.config.endpoints_file}", highlight=False)


def down(data_dir: DataDirOption = None) -> None:
    """Stop what `up` started (data is kept)."""
    stack = _stack(data_dir)
    try:
        stopped = stack.down(progress=_progress)
    except StackError as exc:
        _fail(exc)
    console.print("[bold]Stack down[/]" if stopped else "Nothing was running.")


def status(data_dir: DataDirOption = None) -> None:
    """Show each component; exit code 1 if a started component is unhealthy."""
    stack = _stack(data_dir)
    try:
        rows = stack.status()
    except StackError as exc:
        _fail(exc)
    table = Table(title=f"vein2vein stack ({stack.config.data_dir})")
    for column in ("component", "state", "pid", "endpoint"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail", overflow="fold")  # log paths must stay copyable
    for row in rows:
        style = _STATE_STYLE[row.state]
        table.add_row(
            row.name,
            f"[{style}]{row.state}[/]",
            str(row.pid or ""),
            row.endpoint,
            row.detail,
        )
    console.print(table)
    if any(row.state == "unhealthy" for row in rows):
        raise typer.Exit(1)


for _command in (up, down, status):
    app.command()(_command)


def register_top_level(root: typer.Typer) -> None:
    """``v2v up|down|status`` are shortcuts for the stack commands (services join them later)."""
    for command in (up, down, status):
        root.command()(command)
