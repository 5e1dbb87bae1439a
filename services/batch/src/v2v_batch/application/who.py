"""Who did something, as the views show a person: their user id and role."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Who(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    role: str
