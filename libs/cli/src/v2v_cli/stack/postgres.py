"""A throwaway PostgreSQL cluster run from Debian's postgresql package (opt-in: --postgres)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from v2v_cli.stack.component import Component, PortSetting, Progress
from v2v_cli.stack.config import (
    LOCALHOST,
    POSTGRES_USER,
    SERVICE_DATABASES,
    StackConfig,
)
from v2v_cli.stack.errors import StackError
from v2v_cli.stack.ports import listening
from v2v_cli.stack.process import read_pid, stop_process

# PostgreSQL refuses to run as root, so as root the server runs as the package's system user.
SERVER_USER = "postgres"
# The platform's databases; a test stack adds its own (v2v_cli.testing).
DATABASES: tuple[str, ...] = SERVICE_DATABASES
# sockaddr_un.sun_path holds 107 bytes; leave room.
_MAX_SOCKET_PATH = 100


def find_bindir() -> Path | None:
    """Directory holding initdb/pg_ctl: the newest /usr/lib/postgresql/<ver>/bin, else PATH."""
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)] or [0],
    )
    if versions:
        return versions[-1]
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(out.stdout.strip())
        if out.returncode == 0 and (bindir / "initdb").exists():
            return bindir
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def ensure_installed(progress: Progress) -> Path:
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    if os.geteuid() != 0:
        raise StackError(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install Debian's "
            "`postgresql` package (sudo apt-get install -y postgresql), or run without --postgres "
            "to use SQLite."
        )
    progress("Installing PostgreSQL (apt-get install postgresql)…")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        result = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise StackError(f"{' '.join(args)} failed:\n{result.stderr.strip()[-2000:]}")
    bindir = find_bindir()
    if bindir is None:
        raise StackError("apt-get installed postgresql but initdb is still not found")
    return bindir


def _server_account() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root; None means 'as ourselves'."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise StackError(
            "PostgreSQL cannot run as root and there is no `postgres` system user; "
            "install Debian's postgresql package (it creates the user) or run as a normal user."
        ) from None


class PostgresCluster(Component):
    name = "postgres"
    title = "PostgreSQL"
    ready_timeout = 60.0

    def __init__(self, config: StackConfig) -> None:
        super().__init__(config)
        # Where the cluster lives, when it is not data_dir/postgres (see _choose_root).
        self.location_file = config.data_dir / "postgres.location"
        self.bindir: Path | None = None

    # Layout -------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        try:
            return Path(self.location_file.read_text().strip())
        except OSError:
            return self.config.data_dir / "postgres"

    @property
    def cluster_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def log_file(self) -> Path:
        # Written by the server account, so it lives in the cluster root (see prepare's link).
        return self.root / "postgres.log"

    @property
    def endpoint(self) -> str:
        return f"{LOCALHOST}:{self.config.postgres_port}"

    def ports(self) -> list[PortSetting]:
        return [PortSetting(self.config.postgres_port, "postgres_port")]

    def marker(self) -> str:
        return str(self.cluster_dir)

    def purge_paths(self) -> list[Path]:
        root = self.root
        return [] if root.is_relative_to(self.config.data_dir) else [root]

    # Running server binaries ------------------------------------------------------------------
    def _cmd(self, tool: str, *args: str) -> list[str]:
        assert self.bindir is not None
        command = [str(self.bindir / tool), *args]
        if _server_account() is not None:
            return ["runuser", "-u", SERVER_USER, "--", *command]
        return command

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._cmd(tool, *args),
            capture_output=True,
            text=True,
            check=False,
            start_new_session=True,  # the postmaster must not share our terminal's signals
        )

    def _usable(self, root: Path) -> bool:
        """Can the server account create and use ``root``? (As root, data dirs under e.g.
        /root or a 0700 pytest tmp dir are not reachable by the postgres user.)"""
        socket_path = root / "sock" / f".s.PGSQL.{self.config.postgres_port}"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            return False
        root.mkdir(parents=True, exist_ok=True)
        account = _server_account()
        if account is None:
            return os.access(root, os.W_OK | os.X_OK)
        os.chown(root, account.pw_uid, account.pw_gid)
        check = subprocess.run(
            ["runuser", "-u", SERVER_USER, "--", "test", "-w", str(root), "-a", "-x", str(root)],
            capture_output=True,
            check=False,
        )
        return check.returncode == 0

    def _choose_root(self) -> Path:
        if self.location_file.exists():
            return self.root
        root = self.config.data_dir / "postgres"
        if not self._usable(root):
            digest = hashlib.sha256(str(self.config.data_dir).encode()).hexdigest()[:12]
            root = Path(tempfile.gettempdir()) / f"v2v-pg-{digest}"
            if not self._usable(root):
                raise StackError(
                    f"the PostgreSQL server account cannot use {self.config.data_dir / 'postgres'}"
                    f" nor {root}; choose another --data-dir"
                )
            os.chmod(root, 0o700)
        self.location_file.parent.mkdir(parents=True, exist_ok=True)
        self.location_file.write_text(f"{root}\n")
        return root

    # Lifecycle -----------------------------------------------------------------------------------
    def prepare(self, progress: Progress) -> None:
        self.bindir = ensure_installed(progress)
        root = self._choose_root()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        account = _server_account()
        if account is not None:
            os.chown(root, account.pw_uid, account.pw_gid)
            os.chown(self.socket_dir, account.pw_uid, account.pw_gid)
        link = self.config.logs_dir / "postgres.log"
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.unlink(missing_ok=True)
            link.symlink_to(self.log_file)
        if (self.cluster_dir / "PG_VERSION").exists():
            return
        progress("Initialising the PostgreSQL cluster (first run only)…")
        result = self._run(
            "initdb", "-D", str(self.cluster_dir), "-U", POSTGRES_USER,
            "--auth=trust", "-E", "UTF8", "--locale=C",
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"initdb failed:\n{(result.stdout + result.stderr).strip()}")

    def start(self) -> int:
        if self.bindir is None:
            self.bindir = ensure_installed(lambda _: None)
        options = (
            f"-p {self.config.postgres_port} -k {shlex.quote(str(self.socket_dir))} "
            f"-c listen_addresses={LOCALHOST}"
        )
        result = self._run(
            "pg_ctl", "-D", str(self.cluster_dir), "-o", options,
            "-l", str(self.log_file), "start", "-w", "-t", "60",
        )  # fmt: skip
        pid = read_pid(self.cluster_dir / "postmaster.pid")
        if result.returncode != 0 or pid is None:
            self._pg_ctl_stop()  # pg_ctl may give up waiting while the server still starts
            raise StackError(
                f"pg_ctl start failed (log: {self.log_file}):\n"
                f"{(result.stdout + result.stderr).strip()}"
            )
        return pid

    async def probe(self) -> bool:
        bindir = self.bindir or find_bindir()
        if bindir is None or not listening(self.config.postgres_port):
            return False
        proc = await asyncio.create_subprocess_exec(
            str(bindir / "pg_isready"), "-q", "-h", LOCALHOST,
            "-p", str(self.config.postgres_port), "-t", "2",
        )  # fmt: skip
        return await proc.wait() == 0

    async def _psql(self, sql: str) -> str:
        bindir = self.bindir or find_bindir()
        assert bindir is not None
        proc = await asyncio.create_subprocess_exec(
            str(bindir / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
            "-h", LOCALHOST, "-p", str(self.config.postgres_port),
            "-U", POSTGRES_USER, "-d", "postgres", "-c", sql,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise StackError(f"psql failed on {sql!r}: {err.decode().strip()}")
        return out.decode()

    async def after_ready(self, progress: Progress) -> str:
        existing = set((await self._psql("SELECT datname FROM pg_database")).split())
        for db in DATABASES:
            if db not in existing:
                await self._psql(f'CREATE DATABASE "{db}"')
        return f"{len(DATABASES)} databases"

    def _pg_ctl_stop(self) -> None:
        if self.bindir is None:
            self.bindir = find_bindir()
        if self.bindir is not None and (self.cluster_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.cluster_dir), "stop", "-m", "fast", "-w", "-t", "30")

    def stop(self, pid: int) -> None:
        self._pg_ctl_stop()
        # pg_ctl is the clean way; signals are the fallback when it could not do it.
        stop_process(pid)
