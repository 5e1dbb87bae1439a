"""The release policy (versioned configuration): per site, whether the qualified person
certifies each batch before its release to the treatment center (EU sites: EudraLex Vol. 4
Part IV §11)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SiteRelease(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    requires_qp_certification: bool = False


class ReleasePolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(1, ge=1)
    description: str = ""
    sites: dict[str, SiteRelease] = Field(
        default_factory=dict, description="manufacturing site -> its release rules"
    )

    def requires_qp(self, site: str | None) -> bool:
        found = None if site is None else self.sites.get(site)
        return found is not None and found.requires_qp_certification
