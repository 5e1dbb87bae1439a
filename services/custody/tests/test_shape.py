"""Custody keeps the service shape (docs/developing-a-service.md): a pure domain, and an
application that reaches storage through ports, never through the adapters."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import v2v_custody.application
import v2v_custody.domain

IO_PACKAGES = ("sqlalchemy", "fastapi", "opentelemetry", "aiokafka", "temporalio")


def modules_of(package: ModuleType) -> list[str]:
    return [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]


DOMAIN = modules_of(v2v_custody.domain)


def test_every_domain_module_is_checked() -> None:
    assert {m.rsplit(".", 1)[-1] for m in DOMAIN} >= {"events", "patient", "unit", "identity"}


@pytest.mark.parametrize("module", DOMAIN)
def test_a_domain_module_loads_nothing_that_does_io(module: str) -> None:
    probe = (
        f"import json, sys, {module}\n"
        f"print(json.dumps(sorted(p for p in {IO_PACKAGES!r} if p in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == [], f"{module} loads {done.stdout.strip()}"


def imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of what ``path`` (a module of ``package``) imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            prefix = ".".join(base) if node.level else ""
            target = ".".join(p for p in (prefix, node.module or "") if p)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def test_the_application_never_imports_the_adapters() -> None:
    root = Path(v2v_custody.application.__file__).parent
    offenders = {
        path.name: sorted(m for m in imported if m.startswith("v2v_custody.adapters"))
        for path in sorted(root.glob("*.py"))
        if (imported := imported_modules(path, "v2v_custody.application"))
    }
    assert {name: found for name, found in offenders.items() if found} == {}
    # The check sees relative imports: enroll.py reaches its ports that way.
    assert "v2v_custody.application.ports" in imported_modules(
        root / "enroll.py", "v2v_custody.application"
    )
