"""``v2v rebuild SERVICE``: a service's read models, rebuilt from its event store.

Read models are derived data: emptying and replaying them is always safe (the events are
the record). Use it after restoring a store, after a projection fix, or to check that the
read models equal a rebuild (the chaos run does).
"""

from __future__ import annotations

import asyncio
import importlib
import os
from typing import Annotated

import typer

from v2v_cli.audit_store import StoreUnreadable, to_url
from v2v_cli.commands.stack import DataDirOption, _stack
from v2v_cli.output import console
from v2v_runtime.service import ServiceSpec, rebuild_read_models

SERVICES = ("custody", "logistics", "batch", "qc")


def spec_of(service: str, database_url: str) -> ServiceSpec:
    """The service's composition root, pointed at ``database_url``."""
    os.environ["V2V_DATABASE_URL"] = database_url
    bootstrap = importlib.import_module(f"v2v_{service}.bootstrap")
    spec: ServiceSpec = bootstrap.build()
    return spec


def register_top_level(app: typer.Typer) -> None:
    @app.command("rebuild")
    def rebuild(
        service: Annotated[str, typer.Argument(help=f"one of {', '.join(SERVICES)}")],
        database_url: Annotated[
            str | None,
            typer.Option("--database-url", help="the service's database [default: ./v2v up's]"),
        ] = None,
        data_dir: DataDirOption = None,
    ) -> None:
        """Empty SERVICE's read models and replay its event store into them."""
        if service not in SERVICES:
            console.print(f"[red]unknown service {service!r}: one of {', '.join(SERVICES)}[/red]")
            raise typer.Exit(2)
        given = database_url or _stack(data_dir).endpoints()["database_urls"][service]
        try:
            url = to_url(given)  # a plain path is a SQLite file; a missing one is not created
        except StoreUnreadable as exc:
            console.print(f"[red]rebuild refused: {exc}[/red]")
            raise typer.Exit(2) from exc
        try:
            count = asyncio.run(rebuild_read_models(spec_of(service, url)))
        except Exception as exc:
            console.print(f"[red]rebuild failed: {type(exc).__name__}: {exc}[/red]")
            raise typer.Exit(1) from exc
        console.print(f"{service}: read models rebuilt from {count} events")
