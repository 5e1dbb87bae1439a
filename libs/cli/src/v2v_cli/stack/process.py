"""Process plumbing: detached spawning, pid files, stopping process groups (ports: see
ports.py)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from v2v_cli.stack.errors import StackError

# The port checks lived here first; callers may still import them from this module.
from v2v_cli.stack.ports import free_ports, port_in_use, tcp_open

T = TypeVar("T")

# The launcher's child only spawns the real server in a new session and exits, so the server
# is re-parented to init: it outlives the CLI and never lingers as a zombie of a test process.
_SPAWN_SCRIPT = """
import subprocess, sys
log = open(sys.argv[1], "ab")
proc = subprocess.Popen(
    sys.argv[3:], cwd=sys.argv[2] or None, stdin=subprocess.DEVNULL,
    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
)
print(proc.pid)
"""


def spawn_detached(
    args: Sequence[str],
    log_file: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start ``args`` in its own session, output appended to ``log_file``; return its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-c", _SPAWN_SCRIPT, str(log_file), str(cwd or ""), *args],
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise StackError(f"could not start {args[0]}: {last}")
    return int(result.stdout.strip())


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock across processes: two launchers (parallel test runs) must not fill
    the same cache dir at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (zombies count as dead: they hold no ports and do no work)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return _kill_zero(pid)
    # The state follows the parenthesised command name, which may itself contain ")".
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def _kill_zero(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return raw.replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def read_pid(pid_file: Path) -> int | None:
    """The pid on the first line (PostgreSQL's postmaster.pid has more lines after it)."""
    try:
        return int(pid_file.read_text().split("\n", 1)[0].strip())
    except (OSError, ValueError):
        return None


def write_pid(pid_file: Path, pid: int) -> None:
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{pid}\n")


def owned_pid(pid_file: Path, marker: str) -> int | None:
    """The pid in ``pid_file`` if that process lives and is ours (its command line names
    ``marker``, e.g. our config file); a recycled pid of some other program is not."""
    pid = read_pid(pid_file)
    if pid is None or not pid_alive(pid):
        return None
    return pid if marker in pid_cmdline(pid) else None


def stop_process(pid: int, *, timeout: float = 20.0) -> None:
    """SIGTERM the process (its whole group when it leads one), SIGKILL after ``timeout``."""
    group = _group_of(pid)
    _signal(pid, group, signal.SIGTERM)
    if wait_gone(pid, timeout):
        return
    _signal(pid, group, signal.SIGKILL)
    if not wait_gone(pid, 5.0):
        raise StackError(f"process {pid} did not exit after SIGKILL")


def kill_now(pid: int, *, timeout: float = 10.0) -> None:
    """SIGKILL the process (its whole group when it leads one), as a crash would end it: no
    shutdown code runs. Returns once it is gone."""
    _signal(pid, _group_of(pid), signal.SIGKILL)
    if not wait_gone(pid, timeout):
        raise StackError(f"process {pid} did not exit after SIGKILL")


def _group_of(pid: int) -> int | None:
    try:
        # Only signal the group when the server leads it: never our own group.
        return pid if os.getpgid(pid) == pid and pid != os.getpgid(0) else None
    except ProcessLookupError:
        return None


def _signal(pid: int, group: int | None, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group is not None:
            os.killpg(group, sig)
        else:
            os.kill(pid, sig)


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when the caller's thread already
    runs an event loop (async tests): a private loop in a worker thread never disturbs it."""
    outcome: dict[str, Any] = {}

    def worker() -> None:
        try:
            outcome["value"] = asyncio.run(coro)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=worker, name="v2v-stack-async", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


__all__ = [
    "free_ports",
    "kill_now",
    "owned_pid",
    "pid_alive",
    "pid_cmdline",
    "port_in_use",
    "read_pid",
    "run_async",
    "spawn_detached",
    "stop_process",
    "tail",
    "tcp_open",
    "wait_gone",
    "write_pid",
]
