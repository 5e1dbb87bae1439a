"""Message lineage: which conversation a change belongs to (correlation) and which message
caused it (causation). Kept on the unit of work — the inbox sets it from the incoming
envelope, the HTTP layer from the request — and read by ``Repository.save`` (stored with
every event) and ``UnitOfWork.publish`` (CloudEvents extensions of every message)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from v2v_events.envelope import Envelope


@dataclass(frozen=True)
class Lineage:
    correlation_id: str | None = None
    causation_id: str | None = None

    @classmethod
    def caused_by(cls, envelope: Envelope) -> Lineage:
        """The lineage of what handling ``envelope`` changes: its conversation, caused by it."""
        return cls(envelope.correlationid or envelope.id, envelope.id)


NONE = Lineage()

# The lineage of the HTTP request being served (set by the service kit's middleware); a
# unit of work opened while serving it starts with it.
request_lineage: ContextVar[Lineage] = ContextVar("v2v_request_lineage", default=NONE)
