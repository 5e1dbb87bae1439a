"""Reads the versioned network configuration (JSON) the service runs with."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..domain.network import NetworkConfig

PACKAGED = "network.v1.json"


def load_network(path: Path | None = None) -> NetworkConfig:
    """The file at ``path``, or the configuration shipped in the package."""
    if path is None:
        text = resources.files("v2v_logistics").joinpath("config", PACKAGED).read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    return NetworkConfig.model_validate_json(text)
