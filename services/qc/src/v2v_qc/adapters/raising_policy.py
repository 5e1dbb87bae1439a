"""Loads the classes of the deviations QC raises by itself (domain/raising.py): the packaged
``v2v_qc/policy/raised-deviations.json``, or the file ``V2V_RAISED_DEVIATIONS`` names."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ..domain.raising import RaisingPolicy
from .config import SpecFileError

PACKAGED = Path(__file__).resolve().parent.parent / "policy" / "raised-deviations.json"


def load_raising_policy(path: Path | None = None) -> RaisingPolicy:
    source = path or PACKAGED
    try:
        return RaisingPolicy.model_validate_json(source.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise SpecFileError(f"{source}: invalid raised-deviations policy\n{exc}") from exc
