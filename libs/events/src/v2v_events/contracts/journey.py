"""Events of the journey (the orchestrator): what treatment centers and sponsors see."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from ..catalog import Service
from ..ids import CoI
from ..registry import REGISTRY, Contract
from .common import BoundedDatetime, Count, Identifier, Name, Text

J = Service.JOURNEY


class NotificationReason(StrEnum):
    QC_FAILED = "qc-failed"
    APHERESIS_LATE = "apheresis-late"
    DEADLINE_MISSED = "deadline-missed"
    RECOLLECTION_NEEDED = "recollection-needed"
    REMANUFACTURING = "remanufacturing"
    JOURNEY_FAILED = "journey-failed"


@REGISTRY.event(J, "treatment-center.notified", version=2)
class TreatmentCenterNotified(Contract):
    """The treatment center (and sponsor) must act or re-plan: infusion is not on track.

    v2 names the journey's ``deadline`` that passed when the reason is ``deadline-missed``
    or ``apheresis-late`` (as the journey's status shows its deadlines, e.g.
    ``apheresis-receipt``, ``qc-results``; QC opens a deviation for those its configuration
    calls GMP deadlines) and the patient's ``manufacturing_site``. None: a v1 message, or a
    notification that follows no deadline."""

    coi: CoI
    treatment_center: Name
    reason: NotificationReason
    detail: Text
    lot_id: Identifier | None = None
    deviation_id: Identifier | None = None
    notified_at: BoundedDatetime
    deadline: Identifier | None = None
    manufacturing_site: Name | None = None


@REGISTRY.upcaster(TreatmentCenterNotified, 1)
def _notified_v1(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "deadline": None, "manufacturing_site": None}  # v1 did not say


@REGISTRY.event(J, "journey.ended", version=1)
class JourneyEnded(Contract):
    coi: CoI
    status: str = Field(description="completed | failed | cancelled")
    outcome: str = Field(description="e.g. completed, completed-after-remanufacture")
    manufacturing_attempts: Count
    collection_attempts: Count
    ended_at: BoundedDatetime
