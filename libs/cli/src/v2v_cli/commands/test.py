"""``v2v test``: every test of the repository, unit and integration, on the real stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from v2v_cli.stack import KeycloakServer, StackConfig, StackError
from v2v_cli.stack.kafka import ensure_jars
from v2v_cli.stack.keycloak import ensure_dist


def repo_root() -> Path:
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").exists() and (candidate / "libs" / "events").is_dir():
            return candidate
    raise typer.BadParameter("run v2v test inside the vein2vein repository")


def prefetch() -> None:
    """Fetch the Kafka jars and fetch and build Keycloak once, before pytest runs: on a fresh
    machine that takes minutes, which must not count against the first test's timeout."""
    try:
        config = StackConfig.from_env()
        ensure_jars(config, _say)
        ensure_dist(config, KeycloakServer(config).find_java(), _say)
    except StackError as exc:
        # The integration tests that need these servers will fail with the same message.
        _say(f"could not prepare the local stack: {exc}")


def _say(message: str) -> None:
    typer.echo(f"v2v test: {message}", err=True)


# The OQ evidence: every test's outcome with the requirement ids it shows (docs/validation.md).
DEFAULT_JUNIT = Path(".v2v/test-results/junit.xml")


def register_top_level(root: typer.Typer) -> None:
    @root.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def test(
        ctx: typer.Context,
        unit: Annotated[bool, typer.Option("--unit", help="only tests that need no stack")] = False,
        junit: Annotated[
            Path,
            typer.Option(
                "--junit",
                dir_okay=False,
                help="JUnit XML with each test's requirement ids (relative: to the repository)",
            ),
        ] = DEFAULT_JUNIT,
    ) -> None:
        """Run all tests (pytest). The integration tests start Kafka, Temporal and PostgreSQL
        themselves (or use V2V_TEST_* endpoints); extra arguments go to pytest. Property-based
        tests run the Hypothesis profile in HYPOTHESIS_PROFILE: `ci` (<= 50 examples per test)
        unless set, `dev` for more. Writes the JUnit XML (--junit) with every test's
        requirement ids, the validation evidence."""
        args = [sys.executable, "-m", "pytest", f"--junitxml={junit}"]
        args += ["-o", "junit_suite_name=vein2vein"]
        if unit:
            args += ["-m", "not integration"]
        else:
            prefetch()
        args += list(ctx.args)
        env = {**os.environ, "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")}
        where = repo_root()
        code = subprocess.call(args, cwd=where, env=env)
        _say(f"JUnit XML with the requirement ids: {where / junit}")
        raise typer.Exit(code)
