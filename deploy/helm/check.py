"""Lint, render and validate the vein2vein Helm chart offline: no cluster, no helm CLI.

    uv run python deploy/helm/check.py                      # every values file in ci/
    uv run python deploy/helm/check.py -f site-values.yaml  # a site's values (repeatable)
    uv run python deploy/helm/check.py -f v.yaml --set kafka.securityProtocol=SASL_SSL
    uv run python deploy/helm/check.py -f v.yaml --out rendered/   # also write the manifests

For each set of values: `helm lint --strict` (Helm 4 SDK, via helm-python-sdk), a render with
Helm's engine (values.schema.json applies), a strict check of every rendered object against
the Kubernetes schemas (kubernetes-validate) of the oldest supported version (1.30) and of
the newest one it knows, and the values Helm cannot check (signing.timeZone against the IANA
time-zone database). Exit code 1 when anything fails.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import helm_python as helm
import kubernetes_validate
import yaml
from kubernetes_validate.utils import latest_version

CHART_DIR = Path(__file__).resolve().parent / "vein2vein"
CI_DIR = CHART_DIR / "ci"
RELEASE = "vein2vein"
NAMESPACE = "vein2vein"
MIN_KUBE_VERSION = "1.30.0"
# Rendered files that are not Kubernetes objects.
NOT_MANIFESTS = ("NOTES.txt",)


def kube_versions() -> list[str]:
    """The Kubernetes versions every manifest is validated against."""
    return sorted({MIN_KUBE_VERSION, latest_version()})


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge values like helm does with several -f files: maps merge, the rest replaces."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def load_values(files: Iterable[Path], sets: Iterable[str] = ()) -> dict[str, Any]:
    """Values from YAML files (later ones win), then --set expressions."""
    values: dict[str, Any] = {}
    for path in files:
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: values must be a YAML mapping")
        values = deep_merge(values, loaded)
    for expression in sets:
        values = deep_merge(values, helm.parse_set_string(expression))
    return values


def lint(values: dict[str, Any]) -> list[str]:
    """`helm lint --strict`: every error and warning (informational messages pass)."""
    report = helm.lint(CHART_DIR, values, strict=True, kube_version=f"v{MIN_KUBE_VERSION}")
    problems = [str(e).strip() for e in report.get("errors") or []]
    for message in report.get("messages") or []:
        text = f"{message.get('path', '')}: {str(message.get('error', '')).strip()}"
        if int(message.get("severity", 0)) >= 2 and text not in problems:
            problems.append(text)
    return problems


def render(
    values: dict[str, Any], *, name: str = RELEASE, namespace: str = NAMESPACE
) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` would produce (NOTES.txt included).

    Raises helm_python.HelmValuesError when the values break values.schema.json."""
    with helm.Chart.load(CHART_DIR) as chart:
        return chart.render(values, name=name, namespace=namespace, is_install=True)


def manifests(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every Kubernetes object of a render, in template order."""
    objects: list[dict[str, Any]] = []
    for path in sorted(rendered):
        if path.endswith(NOT_MANIFESTS):
            continue
        for doc in yaml.safe_load_all(rendered[path]):
            if doc:
                objects.append(doc)
    return objects


def validate(objects: Sequence[dict[str, Any]]) -> list[str]:
    """Strict validation of each object against each version in kube_versions()."""
    problems: list[str] = []
    for obj in objects:
        what = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        for version in kube_versions():
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                at = ".".join(str(p) for p in exc.path)
                problems.append(f"{what} (Kubernetes {version}): {at}: {exc.message}")
            except kubernetes_validate.SchemaNotFoundError as exc:
                problems.append(f"{what} (Kubernetes {version}): {exc.message}")
    return problems


def site_checks(values: dict[str, Any]) -> list[str]:
    """What neither values.schema.json nor the templates can check: that signing.timeZone is
    a zone of the IANA database (the services look it up whenever they show a signature, so
    a misspelt zone would fail there, not at install)."""
    signing = values.get("signing") or {}
    zone = signing.get("timeZone") if isinstance(signing, dict) else None
    if not isinstance(zone, str) or not zone:
        return []  # unset (UTC), or not a string: the schema says so
    known = available_timezones()
    if not known:
        return [f"signing.timeZone {zone!r} cannot be checked: no time-zone database here"]
    if zone not in known:
        return [
            f"signing.timeZone {zone!r} is not a zone of the IANA time-zone database "
            "(e.g. Europe/Amsterdam, America/New_York, UTC)"
        ]
    return []


def write_manifests(rendered: dict[str, str], directory: Path) -> list[Path]:
    """Write each rendered template as a file (e.g. for `kubernetes-validate --strict`)."""
    written: list[Path] = []
    for path, text in sorted(rendered.items()):
        if path.endswith(NOT_MANIFESTS) or not text.strip():
            continue
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(target)
    return written


def check(label: str, values: dict[str, Any], out: Path | None = None) -> bool:
    problems = [f"lint: {p}" for p in lint(values)]
    try:
        rendered = render(values)
    except helm.HelmError as exc:
        problems.append(f"render: {exc}")
        rendered = {}
    objects = manifests(rendered)
    problems += [f"kubernetes: {p}" for p in validate(objects)]
    problems += [f"values: {p}" for p in site_checks(values)]
    if out is not None and rendered:
        write_manifests(rendered, out / label)
    versions = " and ".join(kube_versions())
    status = "ok" if not problems else f"{len(problems)} problem(s)"
    print(
        f"{label}: lint --strict, render ({len(objects)} objects), Kubernetes {versions}: {status}"
    )
    for problem in problems:
        print(f"  {problem}")
    return not problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="deploy/helm/check.py", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "-f",
        "--values",
        type=Path,
        action="append",
        default=[],
        help="values file (repeatable; default: each file of ci/ in turn)",
    )
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        help="a helm --set expression (repeatable)",
    )
    parser.add_argument("--out", type=Path, help="write the rendered manifests under this dir")
    args = parser.parse_args(argv)
    if args.values or args.sets:
        label = args.values[-1].stem if args.values else "values"
        runs = {label: load_values(args.values, args.sets)}
    else:
        runs = {p.stem: load_values([p]) for p in sorted(CI_DIR.glob("*.yaml"))}
    ok = [check(label, values, args.out) for label, values in runs.items()]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
