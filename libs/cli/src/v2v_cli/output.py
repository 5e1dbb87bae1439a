"""Where every command prints. Output piped into a file or another program is neither wrapped
nor cut at 80 columns: log paths, URLs and CoIs must stay whole to be copied or grepped."""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

# soft_wrap: lines longer than the terminal are left to the terminal (or the pipe) to wrap.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

# A table is never laid out wider than this, however long its cells.
_WIDEST = 10_000


def print_table(table: Table, out: Console | None = None) -> None:
    """A terminal gets the table fitted to its width; anything else gets it as wide as its
    longest cells need, so no cell is cut short (rich would assume 80 columns)."""
    target = out or console
    if target.is_terminal:
        target.print(table)
        return
    natural = Measurement.get(target, target.options.update_width(_WIDEST), table).maximum
    wide = Console(
        file=target.file,
        width=max(natural, 1),
        soft_wrap=True,
        color_system=target.color_system,  # type: ignore[arg-type]
    )
    wide.print(table)
