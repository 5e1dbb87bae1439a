"""The requirement plugin on a tiny sample suite, run by pytest in a process of its own: the
JUnit XML carries every test's requirement ids, and a marker the catalog does not know, a
procedure claimed by a test, or a marker the matrix's scan cannot see stops the run."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from v2v_cli.compliance.catalog import load

CATALOG = """\
[[source]]
key = "t"
prefix = "T."
title = "A test regulation"
url = "https://example.invalid/regulation"

[[clause]]
id = "T.1"
title = "One"
paraphrase = "Asks for one thing."
kind = "system"
feature = "Does it."

[[clause]]
id = "T.2"
title = "Two"
paraphrase = "Asks for another."
kind = "shared"
feature = "Does its part."
site = "Does the rest."

[[clause]]
id = "T.3"
title = "Three"
paraphrase = "The site's."
kind = "procedure"
site = "Writes an SOP."
"""

SAMPLE = """\
import pytest

pytestmark = pytest.mark.requirement("T.2")


@pytest.mark.requirement("T.1")
@pytest.mark.parametrize("n", [1, 2])
def test_shown(n):
    assert n


def test_module_marker_only():
    pass


class TestGroup:
    @pytest.mark.requirement("T.1", "T.2")
    def test_in_a_class(self):
        pass
"""


def run_pytest(tmp_path: Path, sample: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "clauses.toml").write_text(CATALOG)
    (tmp_path / "pytest.ini").write_text("[pytest]\nrequirements_catalog = clauses.toml\n")
    (tmp_path / "test_sample.py").write_text(sample)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "v2v_cli.compliance.plugin",
            "-p",
            "no:cacheprovider",
            "--junitxml=out/junit.xml",
            "-q",
            "test_sample.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.requirement("EU-Annex11.4.1", "EU-Annex11.4.4")
@pytest.mark.requirement("EU-Annex11.4.1", "EU-Annex11.4.4")
def test_the_junit_xml_carries_each_tests_requirement_ids(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, SAMPLE)
    assert run.returncode == 0, run.stdout + run.stderr
    xml = tmp_path / "out" / "junit.xml"  # written by the run above, not untrusted input
    suite = ET.parse(xml).getroot().find("testsuite")  # noqa: S314
    assert suite is not None
    properties = {
        case.get("name"): sorted(
            p.get("value", "") for p in case.iter("property") if p.get("name") == "requirement"
        )
        for case in suite.iter("testcase")
    }
    assert properties == {
        "test_shown[1]": ["T.1", "T.2"],
        "test_shown[2]": ["T.1", "T.2"],
        "test_module_marker_only": ["T.2"],
        "test_in_a_class": ["T.1", "T.2"],
    }
    [catalog] = [
        p for p in suite.iter("property") if p.get("name") == "requirements-catalog-sha256"
    ]
    assert catalog.get("value") == load(tmp_path / "clauses.toml").sha256


@pytest.mark.requirement("EU-Annex11.4.4")
@pytest.mark.requirement("EU-Annex11.4.4")
def test_a_marker_outside_the_catalog_stops_the_run(tmp_path: Path) -> None:
    sample = SAMPLE.replace('"T.1", "T.2"', '"T.1", "T.9"').replace('("T.1")', '("T.3")')
    run = run_pytest(tmp_path, sample)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    said = " ".join(run.stderr.split())
    assert "test_sample.py::TestGroup::test_in_a_class: 'T.9' is not in" in said
    assert "test_sample.py::test_shown[1]: T.3 is the site's procedure" in said
    assert (
        not (tmp_path / "out" / "junit.xml").exists()
        or "testcase" not in (tmp_path / "out" / "junit.xml").read_text()
    )


@pytest.mark.requirement("EU-Annex11.4.4")
@pytest.mark.requirement("EU-Annex11.4.4")
def test_a_marker_the_scan_cannot_see_stops_the_run(tmp_path: Path) -> None:
    sample = (
        SAMPLE
        + '\n\nshown = pytest.mark.requirement("T.1")\n\n\n@shown\ndef test_aliased():\n    pass\n'
    )
    run = run_pytest(tmp_path, sample)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    said = " ".join(run.stderr.split())
    assert "test_sample.py::test_aliased: the scan for docs/compliance.md reads ['T.2']" in said
