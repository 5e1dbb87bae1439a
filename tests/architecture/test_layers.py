"""The service shape, enforced (docs/developing-a-service.md, "Import rules").

Static: every import statement of every module, read with ``ast``. Dynamic: each domain
module imported in a fresh interpreter, which must not load what the domain must not need.
A violation fails CI; nothing here can be skipped.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("custody", "logistics", "batch", "qc")
ALL_SERVICES = (*SERVICES, "journey")
PLATFORM = {f"v2v_{s}" for s in ALL_SERVICES} | {"v2v_runtime", "v2v_cli", "v2v_events"}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}
# What a domain may import besides the standard library and its own domain package.
DOMAIN_ALLOWED = (
    "pydantic",
    "v2v_runtime.domain",
    "v2v_runtime.errors",
    "v2v_runtime.windows",  # pure rules on reported times (stdlib + errors)
    "v2v_runtime.holds",  # the holds an owning service keeps (pure: stdlib, pydantic, domain)
    "v2v_events",
)
# What importing a domain module must not load.
HEAVY = ("sqlalchemy", "fastapi", "starlette", "opentelemetry", "aiokafka", "temporalio")


def modules(package_dir: Path, package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted(package_dir.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(package_dir).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        yield ".".join([package, *parts]), path


def imports(module: str, path: Path) -> Iterator[str]:
    """Absolute names of everything ``module`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            for alias in node.names:
                yield f"{prefix}.{alias.name}" if not node.module else prefix
            if not node.level:
                continue


def top(name: str) -> str:
    return name.split(".")[0]


def within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def service_modules(service: str) -> list[tuple[str, Path]]:
    pkg = f"v2v_{service}"
    return list(modules(ROOT / "services" / service / "src" / pkg, pkg))


@pytest.mark.requirement("EU-Annex11.4.6")
@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_imports_only_the_standard_library_pydantic_and_the_runtime_domain(
    service: str,
) -> None:
    pkg = f"v2v_{service}"
    bad = [
        f"{module} imports {name}"
        for module, path in service_modules(service)
        if within(module, f"{pkg}.domain")
        for name in imports(module, path)
        if top(name) not in STDLIB and not within(name, *DOMAIN_ALLOWED, f"{pkg}.domain")
    ]
    assert bad == []


@pytest.mark.requirement("EU-Annex11.4.6")
@pytest.mark.parametrize("service", SERVICES)
def test_the_application_never_imports_adapters(service: str) -> None:
    pkg = f"v2v_{service}"
    bad = [
        f"{module} imports {name}"
        for module, path in service_modules(service)
        if within(module, f"{pkg}.application")
        for name in imports(module, path)
        if within(name, f"{pkg}.adapters")
    ]
    assert bad == []


@pytest.mark.requirement("EU-Annex11.4.6")
@pytest.mark.parametrize("service", ALL_SERVICES)
def test_no_service_imports_another(service: str) -> None:
    others = {f"v2v_{s}" for s in ALL_SERVICES} - {f"v2v_{service}"}
    bad = [
        f"{module} imports {name}"
        for module, path in service_modules(service)
        for name in imports(module, path)
        if top(name) in others
    ]
    assert bad == []


@pytest.mark.requirement("EU-Annex11.4.6")
def test_the_public_contracts_import_nothing_of_the_platform() -> None:
    pkg_dir = ROOT / "libs" / "events" / "src" / "v2v_events"
    bad = [
        f"{module} imports {name}"
        for module, path in modules(pkg_dir, "v2v_events")
        for name in imports(module, path)
        if top(name) in PLATFORM - {"v2v_events"}
    ]
    assert bad == []


@pytest.mark.requirement("EU-Annex11.4.6")
def test_the_runtime_domain_imports_only_the_standard_library_and_pydantic() -> None:
    runtime = ROOT / "libs" / "runtime" / "src" / "v2v_runtime"
    bad = [
        f"{name}"
        for module in ("domain", "errors", "windows", "holds")
        for name in imports(f"v2v_runtime.{module}", runtime / f"{module}.py")
        if top(name) not in STDLIB and top(name) != "pydantic" and not within(name, "v2v_runtime")
    ]
    assert bad == []


@pytest.mark.requirement("EU-Annex11.4.6")
@pytest.mark.parametrize("service", SERVICES)
def test_importing_the_domain_loads_no_io_library(service: str) -> None:
    pkg = f"v2v_{service}"
    domain = [m for m, _ in service_modules(service) if within(m, f"{pkg}.domain")]
    probe = (
        "import importlib, sys\n"
        f"for m in {domain!r}: importlib.import_module(m)\n"
        f"print(sorted({{n.split('.')[0] for n in sys.modules}} & set({list(HEAVY)!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]", f"{pkg}.domain loads {out.stdout.strip()}"
