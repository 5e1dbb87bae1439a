"""docs/roles.md is generated from the routes' declarations and kept current."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2v_cli.commands.roles import render, service_routes
from v2v_cli.main import app

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.requirement("21CFR11.10(k)(2)")
def test_roles_page_is_current() -> None:
    result = CliRunner().invoke(app, ["roles", "check", str(ROOT / "docs" / "roles.md")])
    assert result.exit_code == 0, result.output


@pytest.mark.requirement("21CFR11.10(k)(2)")
def test_check_fails_on_a_stale_page(tmp_path: Path) -> None:
    page = tmp_path / "roles.md"
    page.write_text(render().replace("`qa-reviewer`", "`janitor`"))
    result = CliRunner().invoke(app, ["roles", "check", str(page)])
    assert result.exit_code == 1
    assert "not current" in " ".join(result.output.split())


@pytest.mark.requirement("21CFR11.10(g)")
def test_every_service_route_declares_its_roles() -> None:
    for service in ("custody", "logistics", "batch", "qc"):
        routes = service_routes(service)
        assert routes, service
        undeclared = [f"{r.method} {r.path}" for r in routes if not r.roles]
        assert undeclared == [], f"{service} routes anyone may call: {undeclared}"


def test_every_service_serves_its_audit_trail() -> None:
    for service in ("custody", "logistics", "batch", "qc"):
        routes = {(r.method, r.path): r.roles for r in service_routes(service)}
        readers = routes[("GET", "/audit-trail")]
        assert {"auditor", "qa-reviewer", "qualified-person"} <= set(readers), service
