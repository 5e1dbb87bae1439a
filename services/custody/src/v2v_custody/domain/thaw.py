"""Thawing a final-product unit at the treatment center, before its infusion: what is asked,
and the outcome — the thaw recorded, or refused and the refusal kept (as a refused receipt
scan is: the control working).

Refused, recorded (409): the unit belongs to another patient (``unit-other-patient``), was
infused, is rejected or its lot's release was (``unit-rejected``), its lot is not released
by QA (``unit-not-released``), QC holds it or its lot (``unit-held``), or it is not held at
the patient's treatment center.
Refused, not recorded (bad input, 422): not final product, a thaw start outside the
reported-time window or before the unit's receipt there; a second thaw of a unit already
thawed (409 ``unit-already-thawed``). The same thaw reported again is answered with the
recorded one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from v2v_runtime.errors import Conflict, DomainError
from v2v_runtime.holds import ActiveHold
from v2v_runtime.windows import ReportedTimeWindow

from .events import ThawRefusalReason, ThawRefused, UnitKind, UnitThawed

if TYPE_CHECKING:  # unit.py records what these rules decide
    from .lot_release import LotRelease
    from .unit import Unit


@dataclass(frozen=True)
class ThawRequest:
    coi: str  # the patient the unit is thawed for
    treatment_center: str  # the patient's, where the unit must be held
    thaw_started_at: datetime  # observed


@dataclass(frozen=True)
class Thawed:
    event: UnitThawed
    new: bool  # False: the same thaw reported again


@dataclass(frozen=True)
class ThawWasRefused:
    event: ThawRefused
    held: tuple[ActiveHold, ...] = ()  # refused as held: the holds it names

    @property
    def code(self) -> ThawRefusalReason:
        return self.event.reason_code

    @property
    def reason(self) -> str:
        return self.event.reason


ThawDecision = Thawed | ThawWasRefused


def check_not_before_receipt(request: ThawRequest, received_at: datetime) -> None:
    """A unit is not thawed before it was received at the treatment center."""
    if request.thaw_started_at < received_at:
        raise DomainError(
            "thaw-before-receipt",
            f"thaw_started_at {request.thaw_started_at.isoformat()} is before the unit was "
            f"received at the treatment center ({received_at.isoformat()})",
            field="thaw_started_at",
            received_at=received_at.isoformat(),
        )


def already_thawed(unit_id: str, thawed: UnitThawed) -> Conflict:
    return Conflict(
        "unit-already-thawed",
        f"unit {unit_id!r} was thawed already, from {thawed.thaw_started_at.isoformat()}",
        unit_id=unit_id,
        thaw_started_at=thawed.thaw_started_at.isoformat(),
    )


def refusal(
    request: ThawRequest, code: ThawRefusalReason, reason: str, now: datetime
) -> ThawRefused:
    return ThawRefused(
        coi=request.coi,
        treatment_center=request.treatment_center,
        thaw_started_at=request.thaw_started_at,
        reason_code=code,
        reason=reason,
        refused_at=now,
    )


def thaw_outcome(
    unit: Unit,
    request: ThawRequest,
    release: LotRelease | None,
    window: ReportedTimeWindow,
    now: datetime,
    holds: Sequence[ActiveHold] = (),
) -> UnitThawed | ThawRefused | None:
    """What a thaw of ``unit`` comes to: the thaw to record, the refusal to keep, or None
    for the same thaw reported again. Raises the refusals that are bad input."""
    if unit.coi != request.coi:  # the bag in hand is another patient's
        return refusal(
            request,
            ThawRefusalReason.OTHER_PATIENT,
            f"unit {unit.id!r} does not belong to chain of identity {request.coi}",
            now,
        )
    if unit.kind is not UnitKind.FINAL_PRODUCT:
        raise DomainError(
            "unit-not-final-product", f"unit {unit.id!r} is not final product", unit_id=unit.id
        )
    window.check(request.thaw_started_at, now, field="thaw_started_at", what="thaw")
    if unit.thaw is not None and unit.thaw.thaw_started_at == request.thaw_started_at:
        return None
    unusable = unit.why_not_usable(release, holds)
    if unusable is not None:
        return refusal(request, *unusable, now)
    if not unit.held_at_treatment_center(request.treatment_center):
        return refusal(
            request,
            ThawRefusalReason.NOT_AT_TREATMENT_CENTER,
            f"unit {unit.id!r} is not held at {request.treatment_center!r}",
            now,
        )
    if unit.thaw is not None:
        raise already_thawed(unit.id, unit.thaw)
    assert unit.receipt is not None  # held at the treatment center: received there
    check_not_before_receipt(request, unit.receipt.received_at)
    return UnitThawed(
        treatment_center=request.treatment_center,
        thaw_started_at=request.thaw_started_at,
        recorded_at=now,
        late=window.is_late(request.thaw_started_at, now),
    )
