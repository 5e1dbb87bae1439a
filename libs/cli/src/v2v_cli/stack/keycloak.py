"""Keycloak, the local OpenID Connect provider: the server distribution from Maven Central,
built once into the cache, run per data dir with the vein2vein realm imported.

Why ``start --optimized`` on a build made once, rather than ``start-dev``: dev mode rebuilds
the server (Quarkus augmentation, 20-40 s here) on every start, inside the shared
distribution; two stacks starting at once (parallel test runs) corrupted each other's build.
The build options below are fixed, so one build serves every data dir, and each data dir
gets its own Keycloak home (``-Dkc.home.dir``): its H2 database, import dir and temp files.
The settings are dev-mode ones all the same: HTTP on the loopback, H2 file storage, a local
cache, a bootstrap admin. Never a production set-up.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from v2v_cli.stack.component import Component, PortSetting, Progress
from v2v_cli.stack.config import LOCALHOST, OIDC_REALM, StackConfig, env_var
from v2v_cli.stack.errors import StackError
from v2v_cli.stack.jdk import JavaHome, find_java_home
from v2v_cli.stack.process import file_lock, spawn_detached

MIN_JAVA = 21
REALM_FILE = f"{OIDC_REALM}-realm.json"  # Keycloak imports only files named <realm>-realm.json
# Build-time options, baked into the cached distribution by `kc.sh build`.
BUILD_OPTIONS = ("--db=dev-file", "--cache=local", "--health-enabled=false")
# The master realm's administrator (admin console), created on the first start only.
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "v2v-admin-password"  # noqa: S105 (local demo stack on the loopback)
_BUILT_MARKER = ".v2v-built"


def find_realm_file(start: Path | None = None) -> Path:
    """``deploy/keycloak/vein2vein-realm.json`` of the repository this code (or the current
    directory) lives in."""
    cwd = (start or Path.cwd()).resolve()
    for base in (*Path(__file__).resolve().parents, cwd, *cwd.parents):
        candidate = base / "deploy" / "keycloak" / REALM_FILE
        if candidate.is_file():
            return candidate
    raise StackError(
        f"The realm file deploy/keycloak/{REALM_FILE} was not found above {Path(__file__).parent}"
        " or the current directory: run v2v inside the vein2vein repository."
    )


def _fingerprint(version: str) -> str:
    return hashlib.sha256(json.dumps([version, *BUILD_OPTIONS]).encode()).hexdigest() + "\n"


def _dist_ready(dist: Path, version: str) -> bool:
    try:
        return (dist / _BUILT_MARKER).read_text() == _fingerprint(version)
    except OSError:
        return False


def _unzip(archive: Path, into: Path) -> None:
    """Unpack keeping the executable bits (``zipfile`` alone drops them: kc.sh must run)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, into))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                path.chmod(mode)


def _run(args: list[str], what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-2000:]
        raise StackError(f"{what} failed:\n{output}")


def ensure_dist(config: StackConfig, java: JavaHome, progress: Progress) -> Path:
    """The distribution, fetched with Maven and built on first use, then reused (rebuilt
    when the version or the build options change: the marker records their digest)."""
    version = config.keycloak_version
    dist = config.keycloak_dist
    if _dist_ready(dist, version):
        return dist
    with file_lock(dist.parent / f".keycloak-{version}.lock"):
        if _dist_ready(dist, version):
            return dist
        if shutil.which("mvn") is None:
            raise StackError(
                "Maven (`mvn`) is needed once to fetch Keycloak from Maven Central "
                "(Debian: apt-get install maven)."
            )
        progress(f"Fetching Keycloak {version} (about 170 MB, first run only)…")
        staging = dist.parent / f"keycloak-{version}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        _run(
            [
                "mvn", "-q", "-B", "dependency:copy",
                f"-Dartifact=org.keycloak:keycloak-quarkus-dist:{version}:zip",
                f"-DoutputDirectory={staging}",
            ],
            "fetching Keycloak with Maven",
        )  # fmt: skip
        _unzip(staging / f"keycloak-quarkus-dist-{version}.zip", staging)
        shutil.rmtree(dist, ignore_errors=True)
        (staging / f"keycloak-{version}").rename(dist)
        shutil.rmtree(staging, ignore_errors=True)
        progress("Building Keycloak's server configuration (first run only, about a minute)…")
        env = {**os.environ, "JAVA_HOME": str(java.path)}
        _run([str(dist / "bin" / "kc.sh"), "build", *BUILD_OPTIONS], "kc.sh build", env)
        # Written last: a fetch or build interrupted before this line is redone next time.
        (dist / _BUILT_MARKER).write_text(_fingerprint(version))
    return dist


def start_args(config: StackConfig, home: Path) -> list[str]:
    """``kc.sh`` arguments: our own home (data, import dir), HTTP on the loopback, and the
    issuer pinned to the URL the stack hands out (not whatever host a request names)."""
    return [
        "start", "--optimized",
        f"-Dkc.home.dir={home}",
        "--http-enabled=true",
        f"--http-host={LOCALHOST}",
        f"--http-port={config.keycloak_port}",
        f"--hostname={config.keycloak_url}",
        "--import-realm",
    ]  # fmt: skip


def _discovery_issuer(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
            if response.status != 200:
                return None
            issuer = json.loads(response.read()).get("issuer")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return issuer if isinstance(issuer, str) else None


class KeycloakServer(Component):
    name = "keycloak"
    title = "Keycloak"
    # A fresh data dir creates its schema and imports the realm: ~30-40 s on two busy cores.
    ready_timeout = 240.0

    def __init__(self, config: StackConfig) -> None:
        super().__init__(config)
        self.home = config.data_dir / "keycloak"
        self.realm_copy = self.home / "data" / "import" / REALM_FILE
        self.imported_digest = self.home / "realm.sha256"
        self.java: JavaHome | None = None

    @property
    def endpoint(self) -> str:
        return self.config.oidc_issuer

    @property
    def discovery_url(self) -> str:
        return f"{self.config.oidc_issuer}/.well-known/openid-configuration"

    def ports(self) -> list[PortSetting]:
        return [PortSetting(self.config.keycloak_port, "keycloak_port")]

    def marker(self) -> str:
        return f"-Dkc.home.dir={self.home}"

    def find_java(self) -> JavaHome:
        return find_java_home(
            MIN_JAVA,
            configured=self.config.keycloak_java_home,
            setting=env_var("keycloak_java_home"),
            purpose="Keycloak",
        )

    def prepare(self, progress: Progress) -> None:
        self.java = self.find_java()
        dist = ensure_dist(self.config, self.java, progress)
        self.realm_copy.parent.mkdir(parents=True, exist_ok=True)
        (self.home / "providers").mkdir(exist_ok=True)
        # `start --optimized` looks for the build under <kc.home.dir>/lib.
        lib = self.home / "lib"
        if not lib.is_symlink() or lib.readlink() != dist / "lib":
            lib.unlink(missing_ok=True)
            lib.symlink_to(dist / "lib", target_is_directory=True)
        self._stage_realm(find_realm_file(), progress)

    def _stage_realm(self, realm_file: Path, progress: Progress) -> None:
        digest = hashlib.sha256(realm_file.read_bytes()).hexdigest()
        shutil.copyfile(realm_file, self.realm_copy)
        if not (self.home / "data" / "h2").exists():
            self.imported_digest.write_text(digest)  # imported on this first start
        elif self.imported_digest.exists() and self.imported_digest.read_text() != digest:
            # Keycloak imports a realm once and then keeps its own copy (with its changes).
            progress(
                f"{realm_file.name} changed since {self.home} imported it; Keycloak keeps the "
                f"realm it has. To import the new one: v2v down, delete {self.home}, v2v up."
            )

    def start(self) -> int:
        java = self.java or self.find_java()
        env = {
            **os.environ,
            "JAVA_HOME": str(java.path),
            "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USERNAME,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        }
        kc_sh = self.config.keycloak_dist / "bin" / "kc.sh"
        return spawn_detached(
            [str(kc_sh), *start_args(self.config, self.home)], self.log_file, cwd=self.home, env=env
        )

    async def probe(self) -> bool:
        issuer = await asyncio.to_thread(_discovery_issuer, self.discovery_url)
        return issuer == self.config.oidc_issuer

    async def after_ready(self, progress: Progress) -> str:
        return f"realm {OIDC_REALM}"

    def detail(self) -> str:
        return f"admin console {self.config.keycloak_url}/admin ({ADMIN_USERNAME})"
