"""The service images, checked without a Docker engine: the one Dockerfile parsed as text
and expanded for each service's SERVICE build argument (uv's multi-stage recipe, a runtime
stage without build tools, a non-root user, the health probe, the entrypoint that runs the
image's service), the .dockerignore that shapes the build context, and the wheels the images
install: every packaged data file present, and a service that runs from its wheels alone,
without the source tree."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("custody", "logistics", "batch", "qc", "journey")
DEFAULT_ROLE = {"custody": "api", "logistics": "api", "batch": "api", "qc": "api"} | {
    "journey": "worker"
}
FORBIDDEN_IN_RUNTIME = re.compile(r"\b(uv|uvx|apt-get|apt|apk|gcc|cc|make|pip)\b")


# ---------------------------------------------------------------- Dockerfile parsing


@dataclass
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        value = json.loads(self.args)
        assert isinstance(value, list)
        return [str(v) for v in value]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for ins in self.all("ENV"):
            for token in shlex.split(ins.args):
                key, _, value = token.partition("=")
                values[key] = value
        return values


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages with their instructions: comments dropped, continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "dangling line continuation"
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        args = " ".join(args.split())
        if keyword == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
            assert m, f"unreadable FROM: {args}"
            stages.append(Stage(base=m.group(1), name=m.group(2)))
        elif not stages:
            # Only global build arguments may come before the first FROM.
            assert keyword == "ARG", f"{keyword} before the first FROM"
        else:
            stages[-1].instructions.append(Instruction(keyword, args))
    return stages


DOCKERFILE = ROOT / "Dockerfile"


def expanded(svc: str) -> str:
    """The Dockerfile as docker build sees it with ``--build-arg SERVICE=<svc>`` (and the
    journey's ``DEFAULT_ROLE=worker``): ARG references replaced by their values."""
    values = {"SERVICE": svc, "DEFAULT_ROLE": DEFAULT_ROLE[svc]}
    text = DOCKERFILE.read_text()
    return re.sub(r"\$\{(SERVICE|DEFAULT_ROLE)\}", lambda m: values[m.group(1)], text)


@pytest.fixture(scope="module", params=SERVICES)
def svc(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def stages(svc: str) -> list[Stage]:
    return parse_dockerfile(expanded(svc))


def copy_sources(ins: Instruction) -> tuple[list[str], str]:
    """(sources, destination) of a COPY from the build context."""
    parts = [p for p in ins.args.split() if not p.startswith("--")]
    return parts[:-1], parts[-1]


def is_from_context(ins: Instruction) -> bool:
    return ins.keyword in {"COPY", "ADD"} and "--from=" not in ins.args


def workspace() -> tuple[dict[str, Path], dict[str, set[str]]]:
    """Workspace members: package name -> directory, and package -> workspace dependencies."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dirs: dict[str, Path] = {}
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        for path in sorted(ROOT.glob(pattern)):
            if (path / "pyproject.toml").is_file():
                project = tomllib.loads((path / "pyproject.toml").read_text())["project"]
                dirs[project["name"]] = path
    deps: dict[str, set[str]] = {}
    for name, path in dirs.items():
        project = tomllib.loads((path / "pyproject.toml").read_text())["project"]
        required = {re.split(r"[\s<>=!~;\[]", d, maxsplit=1)[0] for d in project["dependencies"]}
        deps[name] = required & set(dirs)
    return dirs, deps


def closure(package: str, deps: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [package]
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo.extend(deps[p])
    return seen


# ---------------------------------------------------------------- the Dockerfiles


def test_multi_stage_with_the_same_pinned_python_in_both_stages(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "multi-stage build expected"
    builder, final = stages[0], stages[-1]
    assert builder.name, "the build stage is named, for COPY --from"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", final.base), final.base
    # The virtualenv points at /usr/local/bin/python3.11: the builder must have the same one.
    assert builder.base == final.base


def test_builder_follows_uv_recipe(svc: str, stages: list[Stage]) -> None:
    builder = stages[0]
    uv_copies = [i for i in builder.all("COPY") if "--from=ghcr.io/astral-sh/uv:" in i.args]
    assert uv_copies, "uv copied from its pinned image"
    assert re.search(r"--from=ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+\s", uv_copies[0].args)
    env = builder.env()
    assert env.get("UV_COMPILE_BYTECODE") == "1"
    assert env.get("UV_LINK_MODE") == "copy"

    syncs = [(n, i) for n, i in enumerate(builder.instructions) if "uv sync" in i.args]
    assert len(syncs) == 2, "one sync for the dependencies, one for the service"
    (deps_at, deps_sync), (app_at, app_sync) = syncs
    for flag in ("--frozen", "--no-dev", f"--package v2v-{svc}"):
        assert flag in deps_sync.args and flag in app_sync.args, flag
    assert "--no-install-workspace" in deps_sync.args
    assert "--no-editable" in app_sync.args, "the runtime stage has no source tree"

    # The dependency layer comes before any source is copied: it stays cached across edits.
    source_copies = [
        n
        for n, i in enumerate(builder.instructions)
        if is_from_context(i)
        and any(not s.endswith(("pyproject.toml", "uv.lock")) for s in copy_sources(i)[0])
    ]
    assert source_copies, "the members' source is copied"
    assert deps_at < min(source_copies) < app_at


def test_dependency_layer_has_every_workspace_member_manifest(stages: list[Stage]) -> None:
    builder = stages[0]
    copied: set[str] = set()
    for ins in builder.instructions:
        if "uv sync" in ins.args:
            break
        if is_from_context(ins):
            copied.update(copy_sources(ins)[0])
    dirs, _ = workspace()
    wanted = {"pyproject.toml", "uv.lock"} | {
        f"{p.relative_to(ROOT).as_posix()}/pyproject.toml" for p in dirs.values()
    }
    # uv reads the whole workspace from these files; a member missing here fails the build.
    assert wanted <= copied, sorted(wanted - copied)
    assert all(s.endswith(("pyproject.toml", "uv.lock")) for s in copied)


def test_copies_exactly_the_members_the_service_needs(svc: str, stages: list[Stage]) -> None:
    dirs, deps = workspace()
    needed = {dirs[p].relative_to(ROOT).as_posix() for p in closure(f"v2v-{svc}", deps)}
    copied: set[str] = set()
    for ins in stages[0].instructions:
        if is_from_context(ins):
            copied.update(s for s in copy_sources(ins)[0] if not s.endswith(("toml", "lock")))
    assert copied == needed
    assert "libs/cli" not in copied, "dev tooling stays out of the images"


def test_runtime_stage_has_no_build_tools_and_only_the_venv(stages: list[Stage]) -> None:
    final = stages[-1]
    for ins in final.all("RUN"):
        assert not FORBIDDEN_IN_RUNTIME.search(ins.args), ins.args
    assert not any(is_from_context(i) for i in final.instructions), "no source in the image"
    copies = final.all("COPY")
    assert copies and all(f"--from={stages[0].name}" in i.args for i in copies)
    assert [copy_sources(i)[0] for i in copies] == [["/app/.venv"]]
    assert not any("astral-sh/uv" in i.args for i in final.instructions)


def test_runtime_stage_runs_as_fixed_non_root_uid(stages: list[Stage]) -> None:
    users = stages[-1].all("USER")
    assert users, "USER set"
    m = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1].args)
    assert m, f"numeric uid (Kubernetes runAsNonRoot can verify it): {users[-1].args}"
    assert int(m.group(1)) != 0 and (m.group(2) is None or int(m.group(2)) != 0)


def test_runtime_settings_ports_healthcheck_and_entrypoint(svc: str, stages: list[Stage]) -> None:
    final = stages[-1]
    env = final.env()
    assert env["V2V_HTTP_HOST"] == "0.0.0.0"  # noqa: S104 (inside the container)
    assert env["V2V_HTTP_PORT"] == "8080"
    assert env["V2V_LOG_JSON"] == "true"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].startswith("/app/.venv/bin:")
    assert {p for i in final.all("EXPOSE") for p in i.args.split()} == {"8080", "8081"}
    health = final.all("HEALTHCHECK")
    assert len(health) == 1
    assert health[0].args.split(" CMD ", 1)[1] == '["python", "-m", "v2v_runtime.healthcheck"]'
    (entrypoint,) = final.all("ENTRYPOINT")
    assert entrypoint.exec_form() == ["python", "-m", "v2v_runtime.image"]
    assert env["V2V_IMAGE_SERVICE"] == svc
    assert env["V2V_IMAGE_DEFAULT_ROLE"] == DEFAULT_ROLE[svc]
    assert not final.all("CMD"), "the default role comes from V2V_IMAGE_DEFAULT_ROLE"


def test_one_dockerfile_serves_every_service() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG SERVICE$", text, re.M), "the service is a build argument"
    assert "custody" not in text.split("ARG SERVICE", 1)[1].split("FROM", 1)[0]
    assert not list((ROOT / "services").glob("*/Dockerfile")), "no per-service copies"
    # every stage that uses the argument declares it (an ARG before FROM is not in scope)
    for stage_text in re.split(r"^FROM ", text, flags=re.M)[1:]:
        if "${SERVICE}" in stage_text:
            assert re.search(r"^ARG SERVICE$", stage_text, re.M), stage_text[:60]


# ---------------------------------------------------------------- the build context


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex (Go filepath.Match per segment, `**` for any depth)."""
    segments = pattern.strip("/").split("/")
    regex = ""
    for n, segment in enumerate(segments):
        last = n == len(segments) - 1
        if segment == "**":
            regex += ".*" if last else "(?:.*/)?"
            continue
        i = 0
        while i < len(segment):
            ch = segment[i]
            if ch == "*":
                regex += "[^/]*"
            elif ch == "?":
                regex += "[^/]"
            elif ch == "[":
                close = segment.index("]", i)
                regex += segment[i : close + 1]
                i = close
            else:
                regex += re.escape(ch)
            i += 1
        regex += "" if last else "/"
    return re.compile(regex)


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves `path` out of the build context: a pattern that matches the path
    or one of its parent directories excludes it; the last matching pattern wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = pattern_regex(pattern.removeprefix("!"))
        if any(regex.fullmatch(p) for p in prefixes):
            result = not negate
    return result


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = dockerignore()
    for path in (
        ".venv",
        ".v2v",
        ".git",
        "tests",
        "docs",
        "bench",
        "deploy",
        "services/qc/tests",
        "libs/runtime/tests",
        "services/qc/src/v2v_qc/__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    ):
        assert ignored(path, patterns), f"{path} would be sent to the Docker daemon"


def test_dockerignore_keeps_what_the_dockerfiles_copy(stages: list[Stage]) -> None:
    patterns = dockerignore()
    for ins in stages[0].instructions:
        if not is_from_context(ins):
            continue
        for source in copy_sources(ins)[0]:
            assert (ROOT / source).exists(), f"COPY {source}: no such path"
            assert not ignored(source, patterns), f"COPY {source} is in .dockerignore"
            # A member's package source must reach the build, whatever else is left out.
            for path in (ROOT / source / "src").rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    rel = path.relative_to(ROOT).as_posix()
                    assert not ignored(rel, patterns), f"{rel} would be missing from the image"


# ---------------------------------------------------------------- the wheels


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH (./v2v installs it)")
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [uv, "build", "--all-packages", "--wheel", "-q", "-o", str(out)],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    found = {w.name.split("-")[0]: w for w in out.glob("*.whl")}
    assert found, "uv build produced no wheel"
    return found


def package_files(package_dir: Path) -> set[str]:
    return {
        p.relative_to(package_dir.parent).as_posix()
        for p in package_dir.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
    }


@pytest.mark.parametrize(
    ("dist", "required"),
    [
        ("v2v_events", ["v2v_events/golden/*/v*.json"]),
        ("v2v_runtime", ["v2v_runtime/migrations/env.py", "v2v_runtime/migrations/*.mako"]),
        ("v2v_runtime", ["v2v_runtime/migrations/versions/*.py", "v2v_runtime/py.typed"]),
        ("v2v_qc", ["v2v_qc/config/*.json", "v2v_qc/adapters/db/migrations/versions/*.py"]),
        ("v2v_qc", ["v2v_qc/policy/raised-deviations.json"]),
        ("v2v_custody", ["v2v_custody/adapters/db/migrations/versions/*.py"]),
        ("v2v_logistics", ["v2v_logistics/config/*.json"]),
        ("v2v_logistics", ["v2v_logistics/adapters/db/migrations/versions/*.py"]),
        ("v2v_batch", ["v2v_batch/config/*.json"]),
        ("v2v_batch", ["v2v_batch/adapters/db/migrations/versions/*.py"]),
        ("v2v_journey", ["v2v_journey/policies/*.json"]),
    ],
)
def test_wheel_carries_the_package_data(
    wheels: dict[str, Path], dist: str, required: list[str]
) -> None:
    names = set(zipfile.ZipFile(wheels[dist]).namelist())
    for pattern in required:
        assert fnmatch.filter(names, pattern), f"{dist} wheel lacks {pattern}"


@pytest.mark.parametrize("package", ["v2v_events", "v2v_runtime", *(f"v2v_{s}" for s in SERVICES)])
def test_wheel_has_every_file_of_the_source_package(wheels: dict[str, Path], package: str) -> None:
    """Whatever lies in the source package (code, JSON, migrations, templates) ships."""
    dirs, _ = workspace()
    src = dirs[package.replace("_", "-")] / "src" / package
    in_wheel = {
        n for n in zipfile.ZipFile(wheels[package]).namelist() if n.startswith(f"{package}/")
    }
    missing = package_files(src) - in_wheel
    assert not missing, f"not packaged: {sorted(missing)}"


def run_from_wheels(
    wheels: dict[str, Path],
    dists: list[str],
    args: list[str],
    tmp_path: Path,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the interpreter with the wheels' contents first on sys.path, from a directory
    outside the repository: what the image's non-editable virtualenv sees."""
    site = tmp_path / "site"
    for dist in dists:
        zipfile.ZipFile(wheels[dist]).extractall(site)
    workdir = tmp_path / "cwd"
    workdir.mkdir(exist_ok=True)
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "V2V_LOG_JSON": "true"}
    env["V2V_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    env |= extra_env or {}
    return subprocess.run(
        [sys.executable, *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("svc", ["custody", "logistics", "batch", "qc"])
def test_service_migrates_from_its_wheels_alone(
    wheels: dict[str, Path], svc: str, tmp_path: Path
) -> None:
    dists = ["v2v_events", "v2v_runtime", f"v2v_{svc}"]
    where = run_from_wheels(
        wheels,
        dists,
        ["-c", f"import v2v_{svc}, v2v_runtime, v2v_events as e; print(v2v_{svc}.__file__)"],
        tmp_path,
    )
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(str(tmp_path / "site")), "not imported from the wheel"
    # as the image runs it: its entrypoint picks the service from the build argument
    image_env = {"V2V_IMAGE_SERVICE": svc, "V2V_IMAGE_DEFAULT_ROLE": "api"}
    migrated = run_from_wheels(
        wheels, dists, ["-m", "v2v_runtime.image", "migrate"], tmp_path, image_env
    )
    assert migrated.returncode == 0, migrated.stderr
    assert "database schema up to date" in migrated.stdout
    rebuilt = run_from_wheels(
        wheels, dists, ["-m", "v2v_runtime.image", "rebuild"], tmp_path, image_env
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "read models rebuilt" in rebuilt.stdout


def test_journey_runs_from_its_wheels_alone(wheels: dict[str, Path], tmp_path: Path) -> None:
    dists = ["v2v_events", "v2v_runtime", "v2v_journey"]
    check = run_from_wheels(
        wheels,
        dists,
        [
            "-c",
            "import v2v_journey, v2v_journey.worker as w; from v2v_journey import policies;"
            "[policies.load(p) for p in ('default', 'demo')]; print(v2v_journey.__file__)",
        ],
        tmp_path,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip().startswith(str(tmp_path / "site"))
    provision = run_from_wheels(wheels, dists, ["-m", "v2v_journey.provision", "--help"], tmp_path)
    assert provision.returncode == 0, provision.stderr
    assert "search attributes" in provision.stdout
    probe = run_from_wheels(wheels, dists, ["-m", "v2v_runtime.healthcheck"], tmp_path)
    assert probe.returncode == 1 and "healthcheck:" in probe.stderr  # nothing listens here
