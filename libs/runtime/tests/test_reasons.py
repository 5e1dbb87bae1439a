"""Reason codes: a versioned configuration file, checked on every correction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import APIRouter

from v2v_runtime.errors import DomainError
from v2v_runtime.http_deps import Reasons
from v2v_runtime.reasons import ReasonCodeFileError, load_reason_codes
from v2v_runtime.service import ServiceSettings, ServiceSpec
from v2v_runtime.testing import ServiceHarness

OWN = {
    "config_version": "site-reasons.v3",
    "codes": [{"code": "typo", "title": "Typo", "description": "a slip of the keyboard"}],
}


def test_the_packaged_codes() -> None:
    codes = load_reason_codes()
    assert codes.config_version == "reason-codes.v1"
    assert {"transcription-error", "entry-error", "other"} <= set(codes.allowed)
    assert codes.require("other") == "other"


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9")
def test_an_unknown_code_names_the_field_and_the_allowed_codes() -> None:
    codes = load_reason_codes()
    with pytest.raises(DomainError) as refused:
        codes.require("because", field="reason_code")
    problem = refused.value
    assert (problem.code, problem.status) == ("reason-code-unknown", 422)
    assert problem.extra["field"] == "reason_code"
    assert problem.extra["allowed_codes"] == codes.allowed
    assert "transcription-error" in problem.detail


@pytest.mark.parametrize(
    "content",
    [
        "{",
        json.dumps({**OWN, "codes": []}),
        json.dumps({**OWN, "codes": OWN["codes"] * 2}),
        json.dumps({**OWN, "codes": [{**OWN["codes"][0], "code": "Not A Code"}]}),
    ],
)
def test_a_broken_file_is_refused_naming_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / "reasons.json"
    path.write_text(content)
    with pytest.raises(ReasonCodeFileError, match=r"reasons\.json"):
        load_reason_codes(path)


@pytest.mark.requirement("EU-Annex11.9")
async def test_a_site_configures_its_own_codes(tmp_path: Path) -> None:
    path = tmp_path / "site-reasons.v3.json"
    path.write_text(json.dumps(OWN))
    router = APIRouter()

    @router.get("/codes")
    async def codes(reasons: Reasons) -> list[str]:
        return reasons.allowed

    settings = ServiceSettings(
        database_url=ServiceHarness.sqlite_url(tmp_path), reason_codes_config=path
    )
    h = ServiceHarness(ServiceSpec("qc", settings, [], [router], {}))
    assert h.kit.reason_codes.allowed == ["typo"]
    async with h.client() as c:
        assert (await c.get("/codes")).json() == ["typo"]
