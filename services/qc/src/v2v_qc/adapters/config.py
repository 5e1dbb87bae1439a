"""Loads product specifications from JSON files named ``<product_code>.v<version>.json``,
the deviation policy and the notification routing.

The packaged files (``v2v_qc/config``, ``v2v_qc/policy/deviations.json``) are the defaults;
a site points ``V2V_SPEC_DIR`` at its own directory of specifications and
``V2V_DEVIATION_POLICY`` at its own policy file instead.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ..domain.deviation_policy import DeviationPolicy
from ..domain.notification_routing import Routing
from ..domain.release_policy import ReleasePolicy
from ..domain.spec import Spec, SpecCatalog

PACKAGED_SPECS = Path(__file__).resolve().parent.parent / "config"
PACKAGED_POLICY = Path(__file__).resolve().parent.parent / "policy" / "deviations.json"
PACKAGED_RELEASE = Path(__file__).resolve().parent.parent / "policy" / "release.json"
PACKAGED_ROUTING = Path(__file__).resolve().parent.parent / "policy" / "notifications.json"


class SpecFileError(ValueError):
    pass


def load_spec(path: Path) -> Spec:
    try:
        spec = Spec.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise SpecFileError(f"{path}: invalid specification\n{exc}") from exc
    expected = f"{spec.product_code}.v{spec.version}.json"
    if path.name != expected:
        raise SpecFileError(f"{path}: a {spec.spec_id} v{spec.version} file must be {expected}")
    return spec


def load_specs(directory: Path | None = None) -> SpecCatalog:
    folder = directory or PACKAGED_SPECS
    files = sorted(folder.glob("*.json"))
    if not files:
        raise SpecFileError(f"no specification files (*.json) in {folder}")
    try:
        return SpecCatalog(load_spec(f) for f in files)
    except ValueError as exc:
        if isinstance(exc, SpecFileError):
            raise
        raise SpecFileError(f"{folder}: {exc}") from exc


def load_deviation_policy(path: Path | None = None) -> DeviationPolicy:
    source = path or PACKAGED_POLICY
    try:
        return DeviationPolicy.model_validate_json(source.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise SpecFileError(f"{source}: invalid deviation policy\n{exc}") from exc


def load_routing(path: Path | None = None) -> Routing:
    """The notification routing (``V2V_NOTIFICATION_ROUTING``; packaged: routes to nobody)."""
    source = path or PACKAGED_ROUTING
    try:
        return Routing.model_validate_json(source.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise SpecFileError(f"{source}: invalid notification routing\n{exc}") from exc


def load_release_policy(path: Path | None = None) -> ReleasePolicy:
    """Which sites need the QP's certification (``V2V_RELEASE_POLICY``; packaged: none)."""
    source = path or PACKAGED_RELEASE
    try:
        return ReleasePolicy.model_validate_json(source.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise SpecFileError(f"{source}: invalid release policy\n{exc}") from exc
