"""What GET /holds shows of a hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from ..domain.hold import HoldKind, HoldState


class HoldView(BaseModel):
    hold_id: str
    item_kind: HoldKind
    item_id: str
    coi: str | None
    site: str | None
    deviation_id: str | None
    reason: str
    state: HoldState
    placed_at: datetime
    placed_by: dict[str, Any]
    released_at: datetime | None = None
    released_by: dict[str, Any] | None = None
    release_reason: str | None = None
