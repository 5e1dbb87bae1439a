"""Reason codes: why a value entered earlier is changed (21 CFR 11.10(e), Annex 11 §9).

A versioned configuration file (``config/reason-codes.v1.json`` shipped with the runtime, or
the site's own via ``V2V_REASON_CODES_CONFIG``) lists the codes; every correction names one
of them plus its reason text, and the event stores both. An unknown code is a 422 problem
naming the field and the codes allowed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import DomainError

PACKAGED = "reason-codes.v1.json"
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"


class ReasonCodeFileError(ValueError):
    pass


class ReasonCode(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=2000)


class ReasonCodes(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    config_version: str = Field(min_length=1, max_length=64)
    description: str = ""
    codes: tuple[ReasonCode, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ReasonCodes:
        seen = [c.code for c in self.codes]
        if len(set(seen)) != len(seen):
            raise ValueError("each reason code is listed once")
        return self

    @property
    def allowed(self) -> list[str]:
        return [c.code for c in self.codes]

    def require(self, code: str, *, field: str = "reason_code") -> str:
        """``code`` if it is one of the configured codes, else a 422 problem naming
        ``field`` and the allowed codes."""
        if code not in self.allowed:
            raise DomainError(
                "reason-code-unknown",
                f"{field} {code!r} is not one of the configured reason codes "
                f"({self.config_version}): {', '.join(self.allowed)}",
                field=field,
                allowed_codes=self.allowed,
                config_version=self.config_version,
            )
        return code


def load_reason_codes(path: Path | None = None) -> ReasonCodes:
    """The file at ``path``, or the codes shipped with the runtime."""
    if path is None:
        text = resources.files("v2v_runtime").joinpath("config", PACKAGED).read_text("utf-8")
        where = PACKAGED
    else:
        text, where = path.read_text("utf-8"), str(path)
    try:
        return ReasonCodes.model_validate_json(text)
    except ValidationError as exc:
        raise ReasonCodeFileError(f"{where}: invalid reason codes\n{exc}") from exc
