"""Controlled-rate freezing profiles, read from a JSON file when the service starts (the
packaged ``config/freezing-profiles.v1.json`` unless ``V2V_FREEZING_PROFILES_CONFIG`` names
another); an invalid file stops the service from starting.

Format ``v2v-batch-freezing-profiles/1``::

    {"format": "v2v-batch-freezing-profiles/1",
     "config_version": "freezing-profiles-2026.1",
     "probe_range_c": {"min_c": -200, "max_c": 40},
     "profiles": {"CART-CRF-01": {"profile_version": ..., "name": ..., "start_c": 4,
                                  "min_points": 10, "segments": [...]}}}

A segment is a hold (``hold_minutes``) or a ramp (``rate_c_per_min``, ``to_c``), each with
its ``band``: per probe (``sample``, ``chamber``), ``below_c`` and ``above_c`` the
programmed temperature (domain/freezing_profile.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..domain.freezing_profile import FreezingProfile, FreezingProfiles, ProbeRange

DEFAULT_FREEZING_PROFILES = (
    Path(__file__).resolve().parent.parent / "config" / "freezing-profiles.v1.json"
)


class FreezingProfilesError(ValueError):
    """The freezing profiles file is missing or invalid."""


class _ProfilesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["v2v-batch-freezing-profiles/1"]
    config_version: str = Field(min_length=1, max_length=64)
    probe_range_c: ProbeRange
    profiles: dict[str, dict[str, Any]] = Field(min_length=1)


def parse_profiles(data: object) -> FreezingProfiles:
    try:
        parsed = _ProfilesFile.model_validate(data)
        profiles = {
            key: FreezingProfile.model_validate({"profile_id": key, **entry})
            for key, entry in parsed.profiles.items()
        }
    except ValidationError as exc:
        raise FreezingProfilesError(f"invalid freezing profiles: {exc}") from exc
    return FreezingProfiles(profiles, parsed.probe_range_c, parsed.config_version)


def load_profiles(path: Path = DEFAULT_FREEZING_PROFILES) -> FreezingProfiles:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FreezingProfilesError(f"cannot read freezing profiles {path}: {exc}") from exc
    return parse_profiles(data)
