"""Who acted, as every stored event records it."""

from __future__ import annotations

from typing import Any

from v2v_events.contracts.common import Actor

# The journey's events carry no person: the orchestrator acted.
JOURNEY = {"user_id": "journey", "role": "system"}


def who(actor: Actor) -> dict[str, Any]:
    """The actor as stored with every event."""
    return actor.model_dump(mode="json")
