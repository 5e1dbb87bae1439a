"""A data dir keeps the storage its services hold data in: switching it between SQLite and
PostgreSQL is refused before anything starts, so custody never numbers CoIs from the start
again while Kafka and Temporal hold the journeys of the CoIs it issued."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2v_cli.main import app
from v2v_cli.stack import PortInUseError, Stack, StackConfig, StackError
from v2v_cli.stack.platform import Platform, ServiceProcess
from v2v_cli.stack.process import spawn_detached
from v2v_cli.stack.storage import held_storage

runner = CliRunner()


@pytest.fixture
def fake_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """Service processes that only sleep (with the service's marker on their command line,
    as `python -m v2v_<service>` has) and answer every probe: Platform.up without servers."""

    def start(self: ServiceProcess) -> int:
        code = "import time; time.sleep(300)"
        return spawn_detached([sys.executable, "-c", code, self.marker()], self.log_file)

    async def probe(self: ServiceProcess) -> bool:
        return True

    monkeypatch.setattr(ServiceProcess, "start", start)
    monkeypatch.setattr(ServiceProcess, "probe", probe)


@pytest.fixture
def no_stack_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting a real server here means the storage check let a switch through."""

    def refuse(components: object) -> None:
        raise AssertionError("the stack got past the storage check")

    monkeypatch.setattr("v2v_cli.stack.launcher.check_ports", refuse)


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def run_services(config: StackConfig, *, postgres: bool) -> None:
    """The platform's services started once (and stopped) from this data dir."""
    stack = Stack(config)
    platform = Platform(stack)
    try:
        platform.up(stack.endpoints(postgres=postgres))
    finally:
        platform.down()


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.usefixtures("fake_services", "no_stack_servers")
def test_services_that_ran_on_sqlite_refuse_postgres_before_anything_starts(
    free_config: StackConfig, stack_env: dict[str, str]
) -> None:
    run_services(free_config, postgres=False)
    assert free_config.storage_file.read_text() == "sqlite\n"

    result = runner.invoke(app, ["up", "--postgres"], env=stack_env)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    message = flat(result.output)
    assert f"{free_config.data_dir} keeps its services' data in SQLite" in message
    assert "one CoI would name two patients" in message
    for way in ("run the command without --postgres", "another data dir", "start afresh"):
        assert way in message
    assert not list(free_config.run_dir.glob("*.pid"))
    postgres = Stack(free_config).postgres
    assert not postgres.location_file.exists() and not postgres.root.exists()
    assert free_config.storage_file.read_text() == "sqlite\n"


@pytest.mark.usefixtures("fake_services", "no_stack_servers")
def test_services_that_ran_on_postgres_refuse_sqlite(free_config: StackConfig) -> None:
    run_services(free_config, postgres=True)
    assert free_config.storage_file.read_text() == "postgres\n"
    with pytest.raises(StackError, match="data in PostgreSQL, so it will not start with SQLite"):
        Stack(free_config).up(postgres=False)
    with pytest.raises(StackError, match="with --postgres"):
        Platform(Stack(free_config)).up(Stack(free_config).endpoints(postgres=False))
    # After `down` (no endpoints.json), tools are pointed at the storage the data is in.
    assert Stack(free_config).endpoints()["storage"] == "postgres"


@pytest.mark.usefixtures("fake_services")
def test_the_same_storage_starts_as_before(free_config: StackConfig, listener: int) -> None:
    run_services(free_config, postgres=False)
    # Past the storage check, the port check is next: a stranger's port shows it got there.
    with pytest.raises(PortInUseError):
        Stack(free_config.replace(kafka_port=listener)).up(postgres=False)


@pytest.mark.usefixtures("no_stack_servers")
def test_a_data_dir_from_before_the_record_is_judged_by_its_files(
    free_config: StackConfig,
) -> None:
    stack = Stack(free_config)
    free_config.db_dir.mkdir(parents=True)
    (free_config.db_dir / "custody.sqlite").write_bytes(b"")
    assert held_storage(free_config, stack.postgres.cluster_dir) == {"sqlite"}
    with pytest.raises(StackError, match="data in SQLite"):
        stack.up(postgres=True)
    postgres_row = {row.name: row for row in stack.status()}["postgres"]
    assert postgres_row.detail == "not used: this data dir keeps its data in SQLite"

    stack.postgres.cluster_dir.mkdir(parents=True)
    (stack.postgres.cluster_dir / "PG_VERSION").write_text("15\n")
    assert held_storage(free_config, stack.postgres.cluster_dir) == {"sqlite", "postgres"}
    for postgres in (False, True):  # already switched once: neither is safe to go on with
        with pytest.raises(StackError, match=r"both SQLite .* and PostgreSQL") as caught:
            stack.up(postgres=postgres)
        assert "may already name two patients" in str(caught.value)


def test_a_fresh_data_dir_holds_nothing_and_postgres_is_offered(tmp_path: Path) -> None:
    stack = Stack(StackConfig(data_dir=tmp_path / "fresh"))
    assert held_storage(stack.config, stack.postgres.cluster_dir) == frozenset()
    postgres = {row.name: row for row in stack.status()}["postgres"]
    assert postgres.detail == "opt-in: ./v2v up --postgres"  # the README's command
