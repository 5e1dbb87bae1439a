"""``v2v compliance export|check``: docs/compliance.md, the traceability matrix from the
clause catalog (docs/compliance/clauses.toml) to the tests that carry each clause's id;
``check`` fails when the committed page is not current (CI runs it through the test suite)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from v2v_cli.commands.test import repo_root
from v2v_cli.compliance.catalog import DEFAULT_CATALOG, CatalogError, load
from v2v_cli.compliance.matrix import problems, render
from v2v_cli.compliance.scan import scan
from v2v_cli.output import console

DEFAULT_PAGE = Path("docs/compliance.md")
app = typer.Typer(help="The compliance matrix (docs/compliance.md).", no_args_is_help=True)

PageArgument = Annotated[
    Path | None, typer.Argument(dir_okay=False, help=f"default: <root>/{DEFAULT_PAGE}")
]
RootOption = Annotated[
    Path | None,
    typer.Option("--root", file_okay=False, help="the repository (default: found from here)"),
]
CatalogOption = Annotated[
    Path | None,
    typer.Option("--catalog", dir_okay=False, help=f"default: <root>/{DEFAULT_CATALOG}"),
]


def matrix(root: Path, catalog_path: Path | None = None) -> str:
    """The page, or exit 1 naming what keeps it from being written."""
    try:
        catalog = load(catalog_path or root / DEFAULT_CATALOG)
    except CatalogError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    found = scan(root)
    wrong = problems(catalog, found)
    for p in wrong:
        console.print(f"[red]{p}[/red]")
    if wrong:
        raise typer.Exit(1)
    return render(catalog, found)


@app.command("export")
def export_cmd(
    path: PageArgument = None,
    root: RootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Write the matrix."""
    root = root or repo_root()
    path = path or root / DEFAULT_PAGE
    path.write_text(matrix(root, catalog))
    console.print(f"  wrote {path}")


@app.command("check")
def check_cmd(
    path: PageArgument = None,
    root: RootOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Exit 1 when the committed page differs from the catalog and the tests' markers."""
    root = root or repo_root()
    path = path or root / DEFAULT_PAGE
    page = matrix(root, catalog)
    if not path.exists() or path.read_text() != page:
        console.print(f"[red]{path} is not current[/red] — run `v2v compliance export {path}`")
        raise typer.Exit(1)
    console.print(f"[green]{path} is current[/green]")
