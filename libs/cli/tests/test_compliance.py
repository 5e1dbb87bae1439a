"""docs/compliance.md is generated from the clause catalog and the tests' requirement markers
and kept current; the catalog keeps its rules; the scan reads what pytest would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2v_cli.compliance.catalog import CatalogError, Kind, load
from v2v_cli.compliance.matrix import Status, problems, render, rows
from v2v_cli.compliance.scan import Scan, marked_tests, scan
from v2v_cli.main import app

ROOT = Path(__file__).resolve().parents[3]
CATALOG = ROOT / "docs" / "compliance" / "clauses.toml"
runner = CliRunner()

SOURCE = """\
[[source]]
key = "t"
prefix = "T."
title = "A test regulation"
url = "https://example.invalid/regulation"
"""


def clause(clause_id: str, kind: str = "system", **extra: str) -> str:
    fields = {"title": f"Clause {clause_id}", "paraphrase": "Asks for something.", "kind": kind}
    if kind != "procedure":
        fields["feature"] = "Does it."
    if kind != "system":
        fields["site"] = "The site does the rest."
    lines = [f'id = "{clause_id}"'] + [f'{k} = "{v}"' for k, v in (fields | extra).items()]
    return "[[clause]]\n" + "\n".join(lines) + "\n"


def catalog_file(tmp_path: Path, *clauses: str) -> Path:
    path = tmp_path / "clauses.toml"
    path.write_text(SOURCE + "\n".join(clauses))
    return path


@pytest.mark.requirement("21CFR11.10(k)(2)", "EU-Annex11.4.4")
@pytest.mark.requirement("21CFR11.10(k)(2)", "EU-Annex11.4.4")
def test_the_compliance_page_is_current() -> None:
    page = ROOT / "docs" / "compliance.md"
    result = runner.invoke(app, ["compliance", "check", str(page), "--root", str(ROOT)])
    assert result.exit_code == 0, result.output


@pytest.mark.requirement("21CFR11.10(k)(2)")
@pytest.mark.requirement("21CFR11.10(k)(2)")
def test_check_fails_on_a_stale_page(tmp_path: Path) -> None:
    page = tmp_path / "compliance.md"
    assert (
        runner.invoke(app, ["compliance", "export", str(page), "--root", str(ROOT)]).exit_code == 0
    )
    page.write_text(page.read_text().replace("**GAP**", "**covered**", 1))
    result = runner.invoke(app, ["compliance", "check", str(page), "--root", str(ROOT)])
    assert result.exit_code == 1
    assert "not current" in " ".join(result.output.split())


def test_the_catalog_lists_every_clause_the_issue_names() -> None:
    catalog = load(CATALOG)
    part11 = [f"21CFR11.10({c})" for c in "abcdefghij"] + ["21CFR11.10(k)(1)", "21CFR11.10(k)(2)"]
    part11 += ["21CFR11.50(a)", "21CFR11.50(b)", "21CFR11.70"]
    part11 += [f"21CFR11.100({c})" for c in "abc"] + [f"21CFR11.300({c})" for c in "abcde"]
    part11 += [f"21CFR11.200({c})" for c in ("a)(1)(i", "a)(1)(ii", "a)(2", "a)(3", "b")]
    annex11 = [f"EU-Annex11.4.{n}" for n in range(1, 9)] + [
        f"EU-Annex11.{n}" for n in (5, 6, 9, 10, 11, 13, 15, 16, 17)
    ]
    annex11 += ["EU-Annex11.7.1", "EU-Annex11.7.2", "EU-Annex11.8.1", "EU-Annex11.8.2"]
    annex11 += [f"EU-Annex11.12.{n}" for n in range(1, 5)]
    annex11 += [f"EU-Annex11.14({c})" for c in "abc"]
    part4 = ["EU-PartIV.6.7", "EU-PartIV.11.2", "EU-PartIV.11.3.1", "EU-PartIV.14.2"]
    annex1 = ["EU-Annex1.9"]  # environmental and process monitoring (issue 14)
    missing = [i for i in part11 + annex11 + part4 + annex1 if catalog.get(i) is None]
    assert missing == []
    # The site's, never the software's:
    for clause_id in ("21CFR11.10(i)", "21CFR11.10(j)", "21CFR11.100(c)", "21CFR11.300(c)"):
        assert catalog.get(clause_id).kind is Kind.PROCEDURE, clause_id  # type: ignore[union-attr]
    prefixes = {s.prefix for s in catalog.sources}
    assert prefixes == {"21CFR11.", "EU-Annex11.", "EU-PartIV.", "EU-Annex1."}
    # EU-Annex1. never claims an Annex 11 clause (nor the other way round)
    assert catalog.get("EU-Annex11.9").source.prefix == "EU-Annex11."  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("clauses", "error"),
    [
        ((clause("T.1"), clause("T.1")), "listed twice"),
        ((clause("X.1"),), "prefix of exactly one source"),
        ((clause("T.1", kind="mandatory"),), "kind must be one of"),
        ((clause("T.1", paraphrase="word " * 80),), "never quote at length"),
        ((clause("T.1", feature=""),), "feature is missing"),
        ((clause("T.1", kind="shared", site=""),), "site is missing"),
        ((clause("T.1", colour="red"),), "unknown keys"),
        ((), "no [[clause]] entries"),
    ],
)
def test_a_catalog_breaking_its_rules_is_refused(
    tmp_path: Path, clauses: tuple[str, ...], error: str
) -> None:
    with pytest.raises(CatalogError, match=re.escape(error)):
        load(catalog_file(tmp_path, *clauses))


def test_the_scan_reads_function_class_and_module_markers() -> None:
    source = """
import pytest
from pytest import mark

pytestmark = [pytest.mark.integration, pytest.mark.requirement("T.module")]

@pytest.mark.parametrize("x", [1, 2])
@pytest.mark.requirement("T.1", "T.2")
def test_function(x): ...

@mark.requirement("T.3")
class TestGroup:
    pytestmark = pytest.mark.requirement("T.4")

    async def test_method(self): ...

    def helper(self): ...

def test_plain(): ...

def helper(): ...

@pytest.mark.requirement(IDS)
def test_not_literal(): ...
"""
    found: list[str] = []
    got = marked_tests(source, "pkg/tests/test_x.py", found)
    assert got == {
        "pkg/tests/test_x.py::test_function": ("T.module", "T.1", "T.2"),
        "pkg/tests/test_x.py::TestGroup::test_method": ("T.module", "T.4", "T.3"),
        "pkg/tests/test_x.py::test_plain": ("T.module",),
        "pkg/tests/test_x.py::test_not_literal": ("T.module",),
    }
    assert found == [
        "pkg/tests/test_x.py:23: requirement ids must be string literals",
        'pkg/tests/test_x.py:23: write requirement("<clause id>", ...)',
    ]


def test_the_repository_scan_finds_this_modules_markers() -> None:
    found = scan(ROOT)
    here = "libs/cli/tests/test_compliance.py::test_the_compliance_page_is_current"
    assert here in found.tests["EU-Annex11.4.4"]
    assert found.by_test[here] == ("21CFR11.10(k)(2)", "EU-Annex11.4.4")
    assert found.problems == []


@pytest.mark.requirement("EU-Annex11.4.4")
@pytest.mark.requirement("EU-Annex11.4.4")
def test_unknown_ids_and_claimed_procedures_are_named(tmp_path: Path) -> None:
    catalog = load(catalog_file(tmp_path, clause("T.1"), clause("T.2", kind="procedure")))
    found = Scan()
    found.tests["T.1"].append("a.py::test_a")
    found.tests["T.9"].append("a.py::test_b")
    found.tests["T.2"].append("a.py::test_c")
    said = problems(catalog, found)
    assert len(said) == 2
    assert "T.2 is the site's procedure, yet a.py::test_c claims it" in said[0]
    assert "unknown requirement id 'T.9' on a.py::test_b" in said[1]


def test_each_clause_gets_its_status_and_every_gap_is_listed(tmp_path: Path) -> None:
    catalog = load(
        catalog_file(
            tmp_path,
            clause("T.covered"),
            clause("T.partial", kind="shared", open="The rest."),
            clause("T.gap"),
            clause("T.sop", kind="procedure"),
            clause("T.shared-gap", kind="shared"),
        )
    )
    found = Scan()
    found.tests["T.covered"] += ["b.py::test_2", "a.py::test_1"]
    found.tests["T.partial"].append("a.py::test_1")
    statuses = {r.clause.id: (r.status, r.tests) for r in rows(catalog, found)}
    assert statuses == {
        "T.covered": (Status.COVERED, ("a.py::test_1", "b.py::test_2")),
        "T.partial": (Status.PARTIAL, ("a.py::test_1",)),
        "T.gap": (Status.GAP, ()),
        "T.sop": (Status.PROCEDURE, ()),
        "T.shared-gap": (Status.GAP, ()),
    }
    page = render(catalog, found)
    assert "| A test regulation | 5 | 1 | 1 | 2 | 1 |" in page
    gaps = page.split("## Gaps", 1)[1].split("\n## ", 1)[0]
    assert "[T.gap](#tgap)" in gaps and "[T.shared-gap](#tshared-gap)" in gaps
    assert "T.sop" not in gaps and "T.covered" not in gaps
    assert "- **Not shown yet**: The rest." in page
    assert catalog.sha256 in page
