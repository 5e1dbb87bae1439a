"""``v2v schemas export DIR``: a JSON Schema per message type, for integrators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from v2v_cli.output import console
from v2v_events import REGISTRY
from v2v_events.schemas import export

app = typer.Typer(help="The public event contracts as JSON Schema.", no_args_is_help=True)


@app.command("export")
def export_cmd(
    directory: Annotated[
        Path, typer.Argument(help="where to write the schema files", file_okay=False)
    ],
) -> None:
    """Write <type>.v<version>.schema.json for every event and command, plus an index."""
    written = export(directory)
    for path in written:
        console.print(f"  wrote {path}")
    console.print(f"[green]{len(REGISTRY)} message types[/green] exported to {directory}")


@app.command("list")
def list_cmd() -> None:
    """List every registered message type with its version, owner and topic."""
    for mt in REGISTRY:
        console.print(f"{mt.name}  v{mt.version}  {mt.kind.value:<7}  {mt.topic}")
