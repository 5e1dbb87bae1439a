"""Journey policies, versioned per product: ``<policy_id>.v<version>.json``."""

from __future__ import annotations

import json
from pathlib import Path

from ..model import JourneyPolicy

ROOT = Path(__file__).parent


def load(policy_id: str = "default", directory: Path = ROOT) -> JourneyPolicy:
    """The newest version of ``policy_id``."""
    files = sorted(
        directory.glob(f"{policy_id}.v*.json"), key=lambda p: int(p.stem.rsplit(".v", 1)[1])
    )
    if not files:
        raise LookupError(f"no journey policy {policy_id!r} in {directory}")
    return JourneyPolicy.model_validate(json.loads(files[-1].read_text()))
