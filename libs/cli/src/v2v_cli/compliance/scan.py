"""Which tests carry which requirement ids, read from the test sources (AST), not by running
pytest's collection.

Why a scan: the matrix is regenerated and checked inside the test suite and by a developer
after every tagging; the scan reads ~100 files in well under a second, imports nothing (no
service module, no conftest, no fixture), so it cannot start a stack or be slowed by one.
What it cannot see — a marker built in a variable, or given through ``pytest.param(marks=)``
— the plugin's check at collection refuses (``plugin.py``), so the scan and pytest agree on
every run of the suite.
"""

from __future__ import annotations

import ast
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

MARKER = "requirement"


@dataclass
class Scan:
    """``tests``: clause id -> test ids (``path::name`` or ``path::Class::name``)."""

    tests: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_test: dict[str, tuple[str, ...]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def test_paths(root: Path) -> list[str]:
    """The ``testpaths`` of the repository's pytest configuration."""
    config = tomllib.loads((root / "pyproject.toml").read_text())
    paths: list[str] = config["tool"]["pytest"]["ini_options"]["testpaths"]
    return paths


def scan(root: Path) -> Scan:
    result = Scan()
    files = sorted(
        p
        for top in test_paths(root)
        for p in (root / top).rglob("test_*.py")
        if ".venv" not in p.parts
    )
    for path in files:
        rel = path.relative_to(root).as_posix()
        for test_id, ids in marked_tests(path.read_text(), rel, result.problems).items():
            result.by_test[test_id] = ids
            for clause_id in ids:
                result.tests[clause_id].append(test_id)
    return result


def marked_tests(source: str, rel: str, problems: list[str]) -> dict[str, tuple[str, ...]]:
    """Test id -> its requirement ids (module, class and function markers together), for
    the tests of one module that carry any."""
    tree = ast.parse(source, filename=rel)
    out: dict[str, tuple[str, ...]] = {}
    module_ids = _pytestmark(tree.body, rel, problems)

    def visit(body: list[ast.stmt], prefix: str, inherited: tuple[str, ...]) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                ids = inherited + _pytestmark(node.body, rel, problems)
                ids += _decorated(node, rel, problems)
                visit(node.body, f"{prefix}{node.name}::", ids)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test"
            ):
                ids = inherited + _decorated(node, rel, problems)
                if ids:
                    out[f"{rel}::{prefix}{node.name}"] = tuple(dict.fromkeys(ids))

    visit(tree.body, "", module_ids)
    return out


def _is_marker(node: ast.expr) -> bool:
    """``pytest.mark.requirement`` (or ``mark.requirement``)."""
    if not isinstance(node, ast.Attribute) or node.attr != MARKER:
        return False
    mark = node.value
    return (isinstance(mark, ast.Attribute) and mark.attr == "mark") or (
        isinstance(mark, ast.Name) and mark.id == "mark"
    )


def _ids(call: ast.expr, rel: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(call, ast.Call) or not _is_marker(call.func):
        return ()
    ids = []
    for arg in call.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            ids.append(arg.value)
        else:
            problems.append(f"{rel}:{call.lineno}: requirement ids must be string literals")
    if not ids or call.keywords:
        problems.append(f'{rel}:{call.lineno}: write requirement("<clause id>", ...)')
    return tuple(ids)


def _decorated(
    node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef, rel: str, problems: list[str]
) -> tuple[str, ...]:
    return tuple(i for d in node.decorator_list for i in _ids(d, rel, problems))


def _pytestmark(body: list[ast.stmt], rel: str, problems: list[str]) -> tuple[str, ...]:
    ids: tuple[str, ...] = ()
    for node in body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            value = node.value
            marks = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
            ids += tuple(i for m in marks for i in _ids(m, rel, problems))
    return ids
