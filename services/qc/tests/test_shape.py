"""The service's shape (docs/developing-a-service.md): the domain is pure, and the
application reaches storage through the unit of work and its ports, never the adapters."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import v2v_qc

PACKAGE = Path(v2v_qc.__file__).parent
IO_LIBRARIES = {"sqlalchemy", "fastapi", "opentelemetry", "aiokafka", "temporalio"}
DOMAIN = ["v2v_qc.domain"] + [
    f"v2v_qc.domain.{p.stem}"
    for p in sorted((PACKAGE / "domain").glob("*.py"))
    if p.stem != "__init__"
]


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_module_loads_no_io_library(module: str) -> None:
    """Imported in a fresh interpreter, a domain module loads none of the I/O libraries."""
    probe = f"import sys, {module}; print(' '.join(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert module in loaded
    io = IO_LIBRARIES.intersection(m.split(".")[0] for m in loaded)
    assert not io, f"{module} loads {sorted(io)}"


def imported_modules(path: Path) -> set[str]:
    """The modules ``path`` imports, relative imports resolved within the package."""
    parts = ["v2v_qc", *path.relative_to(PACKAGE).with_suffix("").parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level] if node.level else []
            found.add(".".join([*base, *([node.module] if node.module else [])]))
    return found


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "application").glob("*.py")), ids=lambda p: p.name
)
def test_application_never_imports_adapters(path: Path) -> None:
    adapters = {m for m in imported_modules(path) if m.startswith("v2v_qc.adapters")}
    assert not adapters, f"{path.name} imports {adapters}: use a port (application/ports.py)"
