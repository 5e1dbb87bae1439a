"""Who is calling. One FastAPI dependency, swappable when real authentication and Part 11
e-signatures arrive: until then the caller's identity comes from two request headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Header, HTTPException

from v2v_events.bounds import ID_MAX, ROLE_MAX
from v2v_events.contracts.common import Actor

USER_HEADER = "X-V2V-User"
ROLE_HEADER = "X-V2V-Role"


# The headers carry the Actor's bounds, so an oversized identity is a 422 problem (and shows
# in the OpenAPI document) instead of failing when the Actor is built.
async def current_actor(
    user: Annotated[str | None, Header(alias=USER_HEADER, max_length=ID_MAX)] = None,
    role: Annotated[str | None, Header(alias=ROLE_HEADER, max_length=ROLE_MAX)] = None,
) -> Actor:
    if not user or not role:
        raise HTTPException(
            status_code=401,
            detail=f"identify yourself with the {USER_HEADER} and {ROLE_HEADER} headers",
        )
    return Actor(user_id=user, role=role)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def caller_id(headers: Mapping[str, str]) -> str:
    """Who is calling, from the request headers alone (before routing): scopes what a
    caller's Idempotency-Keys replay. Empty when the caller did not say."""
    return headers.get(USER_HEADER, "")
