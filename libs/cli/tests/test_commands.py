import asyncio
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from v2v_cli.commands import test as test_command
from v2v_cli.main import app
from v2v_events import REGISTRY
from v2v_runtime.clock import SystemClock
from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import upgrade
from v2v_runtime.db.tables import events
from v2v_runtime.eventstore import EventStore, NewEvent

runner = CliRunner()


def test_schemas_export_writes_one_schema_per_type(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schemas", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert {e["type"] for e in index} == {mt.name for mt in REGISTRY}
    for entry in index:
        schema = json.loads((tmp_path / "out" / entry["schema"]).read_text())
        assert schema["$id"].startswith("urn:vein2vein:schema:")
        assert schema["x-v2v-topic"] == entry["topic"]
        assert "properties" in schema
    assert (tmp_path / "out" / "cloudevents-envelope.schema.json").exists()


def _store(url: str) -> None:
    async def go() -> None:
        await upgrade(url)
        engine = create_engine(url)
        async with session_factory(engine).begin() as s:
            store = EventStore(s, SystemClock())
            for v in range(1, 4):
                await store.append("lot-9", v - 1, [NewEvent(f"e{v}", "t", 1, {"v": v}, {})])
        await engine.dispose()

    asyncio.run(go())


def _tamper(url: str) -> None:
    async def go() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(
                update(events).where(events.c.event_id == "e2").values(payload={"v": 7})
            )
        await engine.dispose()

    asyncio.run(go())


@pytest.mark.requirement("21CFR11.10(a)", "EU-Annex11.7.1", "EU-Annex11.13")
def test_audit_verify_intact_then_tampered(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/svc.sqlite"
    _store(url)
    ok = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output
    _tamper(url)
    bad = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert bad.exit_code == 1
    assert "lot-9 version 2" in bad.output
    assert "altered" in bad.output


def test_audit_verify_without_a_database_is_exit_2() -> None:
    result = runner.invoke(app, ["audit", "verify"], env={"V2V_DATABASE_URL": ""})
    assert result.exit_code == 2


def test_v2v_test_runs_pytest_with_the_ci_hypothesis_profile_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, str]] = []

    def call(args: list[str], cwd: Path, env: dict[str, str]) -> int:
        assert args[1:3] == ["-m", "pytest"] and args[-1] == "-q"
        calls.append(env)
        return 0

    prefetched: list[bool] = []
    monkeypatch.setattr(subprocess, "call", call)
    monkeypatch.setattr(test_command, "prefetch", lambda: prefetched.append(True))
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    assert runner.invoke(app, ["test", "-q"]).exit_code == 0
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "dev")
    assert runner.invoke(app, ["test", "-q"]).exit_code == 0
    assert [env["HYPOTHESIS_PROFILE"] for env in calls] == ["ci", "dev"]
    assert prefetched == [True, True]  # the stack's downloads happen before pytest's timeouts
    assert runner.invoke(app, ["test", "--unit", "-q"]).exit_code == 0
    assert prefetched == [True, True]  # unit tests need no servers


def test_v2v_test_writes_the_junit_xml_with_the_requirement_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[list[str]] = []

    def call(args: list[str], cwd: Path, env: dict[str, str]) -> int:
        seen.append(args)
        return 3

    monkeypatch.setattr(subprocess, "call", call)
    result = runner.invoke(app, ["test", "--unit", "-q"])
    assert result.exit_code == 3  # pytest's own exit code
    assert "--junitxml=.v2v/test-results/junit.xml" in seen[0]
    assert "junit_suite_name=vein2vein" in seen[0]
    assert "JUnit XML with the requirement ids:" in result.output
    assert str(Path(".v2v/test-results/junit.xml")) in " ".join(result.output.split())
    assert runner.invoke(app, ["test", "--unit", "--junit", "oq/run-7.xml"]).exit_code == 3
    assert "--junitxml=oq/run-7.xml" in seen[1]
