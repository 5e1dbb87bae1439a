"""Reads the versioned site directory (JSON) the service runs with."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..domain.sites import SiteDirectory

PACKAGED = "sites.v1.json"


def load_sites(path: Path | None = None) -> SiteDirectory:
    """The file at ``path``, or the directory shipped in the package."""
    if path is None:
        text = resources.files("v2v_custody").joinpath("config", PACKAGED).read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    return SiteDirectory.model_validate_json(text)
