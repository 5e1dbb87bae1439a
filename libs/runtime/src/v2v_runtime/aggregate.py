"""Moved: the domain part to ``v2v_runtime.domain``, persistence to
``v2v_runtime.repository``. Kept for imports not yet moved."""

from .domain import Aggregate, DomainEvent
from .repository import A, EventCodec, Projector, Repository, rebuild_projection

__all__ = [
    "A",
    "Aggregate",
    "DomainEvent",
    "EventCodec",
    "Projector",
    "Repository",
    "rebuild_projection",
]
