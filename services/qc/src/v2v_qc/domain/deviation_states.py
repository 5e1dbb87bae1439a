"""A deviation's lifecycle as a table: in each state, the acts that may come next.

    opened -> triaged -> contained -> investigated -> capa-approved -> implemented -> closed
                                                  \\-> closed (no CAPA needed, justified)
    closed (with CAPA) -> effective | not-effective (a follow-up deviation is opened)

QA may classify again in any state before closure (the class, the reportable flag and so
the targets may change; the state does not). The regulatory report of a reportable
deviation is recorded whenever it is submitted, in any state after triage.
"""

from __future__ import annotations

from enum import StrEnum

from v2v_runtime.errors import Conflict

from .events import DeviationState

S = DeviationState


class Act(StrEnum):
    """What may be done to a deviation (each one route)."""

    CLASSIFICATION = "classification"  # the triage, and any reclassification
    CONTAINMENT = "containment"
    INVESTIGATION = "investigation"
    CAPA_PLAN = "capa-plan"
    CAPA_ACTION_DONE = "capa-action-done"
    CLOSE = "close"
    EFFECTIVENESS_CHECK = "effectiveness-check"


CLOSED_STATES = frozenset({S.CLOSED, S.EFFECTIVE, S.NOT_EFFECTIVE})

_NEXT: dict[DeviationState, tuple[Act, ...]] = {
    S.OPENED: (Act.CLASSIFICATION,),
    S.TRIAGED: (Act.CONTAINMENT, Act.CLASSIFICATION),
    S.CONTAINED: (Act.INVESTIGATION, Act.CLASSIFICATION),
    S.INVESTIGATED: (Act.CAPA_PLAN, Act.CLOSE, Act.CLASSIFICATION),
    S.CAPA_APPROVED: (Act.CAPA_ACTION_DONE, Act.CLASSIFICATION),
    S.IMPLEMENTED: (Act.CLOSE, Act.CLASSIFICATION),
    S.CLOSED: (Act.EFFECTIVENESS_CHECK,),
    S.EFFECTIVE: (),
    S.NOT_EFFECTIVE: (),
}


def next_acts(state: DeviationState, has_capa: bool) -> list[Act]:
    """The acts allowed in ``state`` (a deviation closed without CAPA has nothing to check)."""
    if state is S.CLOSED and not has_capa:
        return []
    return list(_NEXT[state])


def expect(deviation_id: str, state: DeviationState, has_capa: bool, act: Act) -> None:
    """409 ``deviation-out-of-order`` naming the current state and what may come next."""
    allowed = next_acts(state, has_capa)
    if act in allowed:
        return
    following = ", ".join(allowed) if allowed else "nothing (its lifecycle is complete)"
    raise Conflict(
        "deviation-out-of-order",
        f"deviation {deviation_id} is {state.value}: {act.value} is not allowed now; "
        f"next: {following}",
        state=state.value,
        act=act.value,
        allowed_next=[a.value for a in allowed],
    )
