"""The ``requirement`` marker for the whole repository (loaded by the root conftest.py).

``@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9")`` says which clauses of
docs/compliance/clauses.toml a test shows. At collection this plugin refuses an id the
catalog does not know, a procedure clause (the site's, never a test's), and a marker the
source scan behind docs/compliance.md cannot see; every marked test then carries one JUnit
property ``requirement`` per id, and the test suite the catalog's sha256
(``requirements-catalog-sha256``), so the XML is the evidence of which clause passed when.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from v2v_cli.compliance.catalog import CatalogError, Kind, load
from v2v_cli.compliance.scan import MARKER, marked_tests

PROPERTY = "requirement"
INI = "requirements_catalog"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        INI,
        "the clause catalog the requirement marker's ids come from (TOML, from the rootdir)",
        default="docs/compliance/clauses.toml",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*ids): the regulation clauses (docs/compliance/clauses.toml) this test "
        "shows; recorded in the JUnit XML and in docs/compliance.md",
    )


def requirement_ids(item: pytest.Item) -> tuple[str, ...]:
    ids = [str(i) for mark in item.iter_markers(MARKER) for i in mark.args]
    return tuple(dict.fromkeys(ids))


def _catalog_path(config: pytest.Config) -> Path:
    return config.rootpath / str(config.getini(INI))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    marked = [(item, ids) for item in items if (ids := requirement_ids(item))]
    if not marked:
        return
    try:
        catalog = load(_catalog_path(config))
    except CatalogError as exc:
        raise pytest.UsageError(f"requirement markers need the catalog: {exc}") from exc
    problems: list[str] = []
    scanned: dict[Path, dict[str, tuple[str, ...]]] = {}
    for item, ids in marked:
        for clause_id in ids:
            clause = catalog.get(clause_id)
            if clause is None:
                problems.append(f"{item.nodeid}: {clause_id!r} is not in {catalog.path}")
            elif clause.kind is Kind.PROCEDURE:
                problems.append(f"{item.nodeid}: {clause_id} is the site's procedure")
        seen = _scanned_ids(item, config.rootpath, scanned)
        if set(seen) != set(ids):  # pytest lists the closest marker first, the scan the outermost
            problems.append(
                f"{item.nodeid}: the scan for docs/compliance.md reads {list(seen)}, pytest "
                f'{list(ids)}: write @pytest.mark.{MARKER}("<id>", ...) on the test, its '
                "class or the module's pytestmark, with literal ids"
            )
        item.user_properties.extend((PROPERTY, clause_id) for clause_id in ids)
    if problems:
        raise pytest.UsageError("requirement markers:\n  " + "\n  ".join(problems))


def _scanned_ids(
    item: pytest.Item, root: Path, cache: dict[Path, dict[str, tuple[str, ...]]]
) -> tuple[str, ...]:
    path = item.path
    if path not in cache:
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        cache[path] = {
            test_id.split("::", 1)[1]: ids
            for test_id, ids in marked_tests(path.read_text(), rel, []).items()
        }
    name = item.nodeid.split("::", 1)[1].split("[", 1)[0] if "::" in item.nodeid else ""
    return cache[path].get(name, ())


@pytest.fixture(scope="session", autouse=True)
def _requirements_catalog_in_the_junit_xml(
    request: pytest.FixtureRequest, record_testsuite_property: Callable[[str, object], None]
) -> None:
    """Which catalog the run's requirement ids refer to (a no-op without --junitxml)."""
    path = _catalog_path(request.config)
    if path.exists():
        record_testsuite_property("requirements-catalog-sha256", load(path).sha256)
