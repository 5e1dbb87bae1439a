"""The site directory: the treatment centers, apheresis centers and manufacturing sites a
patient may be enrolled for (versioned configuration, shared in content with the logistics
network). An enrolment naming any other would start a journey no service can carry out.

Pure: the file is read by an adapter; this module only validates and answers.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from v2v_events.bounds import NAME_MAX
from v2v_runtime.errors import DomainError


class SiteDirectory(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    config_version: str = Field(min_length=1, max_length=64)
    description: str = ""
    treatment_centers: frozenset[str] = Field(min_length=1)
    apheresis_centers: frozenset[str] = Field(min_length=1)
    manufacturing_sites: frozenset[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _names_fit_the_contracts(self) -> Self:
        for name in self.treatment_centers | self.apheresis_centers | self.manufacturing_sites:
            if not 0 < len(name) <= NAME_MAX or name != name.strip():
                raise ValueError(f"site name {name!r}: 1-{NAME_MAX} characters, no outer spaces")
        return self

    def check_enrollment(
        self, *, treatment_center: str, apheresis_center: str, manufacturing_site: str
    ) -> None:
        """Refuse the first name the directory does not know (a 422 naming the field)."""
        for field, name, known in (
            ("treatment_center", treatment_center, self.treatment_centers),
            ("apheresis_center", apheresis_center, self.apheresis_centers),
            ("manufacturing_site", manufacturing_site, self.manufacturing_sites),
        ):
            if name not in known:
                kind = field.replace("_", "-")
                raise DomainError(
                    f"unknown-{kind}",
                    f"{field} {name!r} is not in the site directory {self.config_version}",
                    field=field,
                    config_version=self.config_version,
                )
