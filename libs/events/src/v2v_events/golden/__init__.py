"""Golden JSON samples: ``<type>/v<version>.json`` for every version of every type.

They are the wire format integrators rely on: tests decode each one with the current
registry (upcasting older versions) and check the current version re-encodes unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent


def load(type_name: str, version: int, root: Path = ROOT) -> dict[str, Any]:
    data = json.loads((root / type_name / f"v{version}.json").read_text())
    assert isinstance(data, dict)
    return data


def versions(type_name: str, root: Path = ROOT) -> list[int]:
    folder = root / type_name
    if not folder.is_dir():
        return []
    return sorted(int(p.stem[1:]) for p in folder.glob("v*.json"))
