"""`v2v status` as promised in its help: exit code 1 when something started is unhealthy or
gone; its table whole when piped (no cell cut at 80 columns)."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from v2v_cli.main import app
from v2v_cli.stack import Stack, StackConfig
from v2v_cli.stack.platform import Platform
from v2v_cli.stack.process import spawn_detached, stop_process, wait_gone, write_pid

runner = CliRunner()


def gone_pid(config: StackConfig) -> int:
    pid = spawn_detached([sys.executable, "-c", "pass"], config.logs_dir / "gone.log")
    assert wait_gone(pid, 10)
    return pid


@pytest.mark.requirement("EU-Annex11.13")
def test_a_service_that_is_gone_fails_status(
    free_config: StackConfig, stack_env: dict[str, str]
) -> None:
    custody = Platform(Stack(free_config)).components()[0]
    pid = gone_pid(free_config)
    write_pid(custody.pid_file, pid)
    result = runner.invoke(app, ["status"], env=stack_env)
    assert result.exit_code == 1, result.output
    row = next(line for line in result.output.splitlines() if "custody" in line)
    assert "exited" in row and f"pid {pid} is gone" in row
    assert "`./v2v up` starts what is gone again" in result.output
    # `stack status` shows the stack alone, which is fine.
    assert runner.invoke(app, ["stack", "status"], env=stack_env).exit_code == 0


def test_a_stack_server_that_is_gone_fails_both_status_commands(
    free_config: StackConfig, stack_env: dict[str, str]
) -> None:
    write_pid(Stack(free_config).temporal.pid_file, gone_pid(free_config))
    for command in (["status"], ["stack", "status"]):
        result = runner.invoke(app, command, env=stack_env)
        assert result.exit_code == 1, result.output
        assert "exited" in result.output


def test_nothing_started_is_exit_0(free_config: StackConfig, stack_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["status"], env=stack_env)
    assert result.exit_code == 0, result.output
    assert "exited" not in result.output


def test_an_alive_process_that_does_not_answer_fails_status(
    free_config: StackConfig, stack_env: dict[str, str]
) -> None:
    qc = Platform(Stack(free_config)).components()[3]
    # Alive, ours by its command line, but no API on qc's port.
    pid = spawn_detached(
        [sys.executable, "-c", "import time; time.sleep(300)", qc.marker()], qc.log_file
    )
    try:
        write_pid(qc.pid_file, pid)
        result = runner.invoke(app, ["status"], env=stack_env)
        assert result.exit_code == 1, result.output
        assert "unhealthy" in result.output
    finally:
        stop_process(pid, timeout=5)


def test_piped_tables_keep_every_cell_whole(
    free_config: StackConfig, stack_env: dict[str, str]
) -> None:
    deep = free_config.data_dir / ("a-rather-long-directory-name-" * 4) / "v2v"
    env = {**stack_env, "V2V_STACK_DATA_DIR": str(deep)}
    stack = Stack(free_config.replace(data_dir=deep))
    pid = gone_pid(stack.config)
    write_pid(stack.kafka.pid_file, pid)
    result = runner.invoke(app, ["status"], env=env)
    lines = result.output.splitlines()
    kafka = next(line for line in lines if line.startswith("│ kafka"))
    # The whole detail on the row's one line: the log path can be copied from it.
    assert f"pid {pid} is gone (see {stack.kafka.log_files()[-1]})" in kafka
    assert len(kafka) > 200
    assert any(f"({deep})" in line for line in lines)  # the title too
    assert "…" not in result.output
