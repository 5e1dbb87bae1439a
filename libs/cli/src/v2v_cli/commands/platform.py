"""``v2v up|down|status``: the whole platform — the stack, then the four services and the
journey, each as its own process, with a status table."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from v2v_cli.commands.stack import (
    DataDirOption,
    _fail,
    _progress,
    _stack,
    show_status,
    status_table,
)
from v2v_cli.output import console, print_table
from v2v_cli.stack import StackError
from v2v_cli.stack.platform import Platform


def up(
    postgres: Annotated[
        bool,
        typer.Option(
            "--postgres",
            help="Services store in PostgreSQL (default SQLite). A data dir keeps the storage "
            "it started with.",
        ),
    ] = False,
    stack_only: Annotated[
        bool, typer.Option("--stack-only", help="Only Kafka, Temporal, Keycloak and storage.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Start the platform: Kafka, Temporal (+ Web UI), Keycloak, storage, the four services
    and the journey worker and bridge. Again is harmless: running parts are left alone."""
    stack = _stack(data_dir)
    started = time.monotonic()
    try:
        endpoints = stack.up(postgres=postgres, progress=_progress)
        platform = Platform(stack)
        if not stack_only:
            platform.up(endpoints, progress=_progress)
        rows = stack.status() + ([] if stack_only else platform.status())
    except StackError as exc:
        _fail(exc)
    print_table(status_table(f"vein2vein ({stack.config.data_dir})", rows))
    console.print(
        f"[bold green]Up[/] in {time.monotonic() - started:.1f} s — "
        f"Temporal Web UI: {endpoints['temporal_ui_url']} — OIDC issuer: {endpoints['oidc_issuer']}"
    )
    console.print(
        f"Logs: {stack.config.logs_dir}   Endpoints: {stack.config.endpoints_file}", highlight=False
    )


def down(data_dir: DataDirOption = None) -> None:
    """Stop the services and the journey, then the stack (data is kept)."""
    stack = _stack(data_dir)
    try:
        stopped = Platform(stack).down(progress=_progress) + stack.down(progress=_progress)
    except StackError as exc:
        _fail(exc)
    console.print("[bold]Down[/]" if stopped else "Nothing was running.")


def status(data_dir: DataDirOption = None) -> None:
    """Every component and process; exit code 1 if something started is unhealthy or has
    exited."""
    stack = _stack(data_dir)
    try:
        rows = stack.status() + Platform(stack).status()
    except StackError as exc:
        _fail(exc)
    show_status(f"vein2vein ({stack.config.data_dir})", rows)


def register_top_level(root: typer.Typer) -> None:
    for command in (up, down, status):
        root.command()(command)
