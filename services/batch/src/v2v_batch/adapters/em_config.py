"""The site's environmental monitoring programme, read from a JSON file (the packaged
``config/environmental-monitoring.v1.json`` unless ``V2V_EM_CONFIG`` names another) and
validated when the service starts: a programme that names no Annex 1 edition, lacks a limit
for a grade and sample type, or sets an alert limit not below its action limit is refused.

Format ``v2v-batch-em/1``: ``config_version``, ``edition``, ``impact_window_hours``,
``trend`` (``alerts`` in ``samples`` consecutive samples), ``sample_types`` (``label``,
``kind`` viable | total-particles, ``units``) and ``limits`` per grade (A-D) and sample
type: ``{"action": n, "alert": m}``, ``"no-limit"`` or ``"not-predetermined"``; particle
limits per occupancy (``at-rest``, ``in-operation``). See ``v2v_batch.domain.em_limits``."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from ..domain.em_limits import EmProgramme

DEFAULT_EM_CONFIG = (
    Path(__file__).resolve().parent.parent / "config" / "environmental-monitoring.v1.json"
)


class EmConfigError(ValueError):
    """The environmental monitoring configuration is missing or invalid."""


def parse_programme(data: object) -> EmProgramme:
    try:
        return EmProgramme.model_validate(data)
    except ValidationError as exc:
        raise EmConfigError(f"invalid environmental monitoring configuration: {exc}") from exc


def load_programme(path: Path = DEFAULT_EM_CONFIG) -> EmProgramme:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EmConfigError(
            f"cannot read environmental monitoring configuration {path}: {exc}"
        ) from exc
    return parse_programme(data)
