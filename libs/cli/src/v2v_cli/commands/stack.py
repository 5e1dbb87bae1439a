"""``v2v stack up|down|status``: the native local stack (Kafka, Temporal, Keycloak,
PostgreSQL)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.table import Table

from v2v_cli.output import console, err_console, print_table
from v2v_cli.stack import Stack, StackConfig, StackError
from v2v_cli.stack.launcher import FAILING, ComponentStatus

app = typer.Typer(
    help="Run Kafka, Temporal, Keycloak and (opt-in) PostgreSQL locally, without Docker.",
    no_args_is_help=True,
)
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where logs, pid files and server data live [env V2V_STACK_DATA_DIR; default ./.v2v]",
        file_okay=False,
    ),
]
_STATE_STYLE = {"running": "green", "stopped": "dim", "unhealthy": "bold red", "exited": "bold red"}


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


def status_table(title: str, rows: list[ComponentStatus]) -> Table:
    table = Table(title=title)
    for column in ("component", "state", "pid", "endpoint"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail", overflow="fold")  # log paths must stay copyable
    for row in rows:
        style = _STATE_STYLE[row.state]
        table.add_row(
            row.name, f"[{style}]{row.state}[/]", str(row.pid or ""), row.endpoint, row.detail
        )
    return table


def show_status(title: str, rows: list[ComponentStatus]) -> None:
    """The table; exit code 1 when something started does not answer or is gone."""
    print_table(status_table(title, rows))
    if any(row.state in FAILING for row in rows):
        err_console.print(
            "[bold red]Something started is not running:[/] see its detail; `./v2v up` "
            "starts what is gone again.",
            highlight=False,
        )
        raise typer.Exit(1)


def up(
    postgres: Annotated[
        bool,
        typer.Option(
            "--postgres",
            help="Also run PostgreSQL (default storage: SQLite). A data dir keeps the storage "
            "its services started with.",
        ),
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
    """Show each component; exit code 1 if something started is unhealthy or has exited."""
    stack = _stack(data_dir)
    try:
        rows = stack.status()
    except StackError as exc:
        _fail(exc)
    show_status(f"vein2vein stack ({stack.config.data_dir})", rows)


for _command in (up, down, status):
    app.command()(_command)
