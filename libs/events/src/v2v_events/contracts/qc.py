"""Events and commands of the QC service: release panel, results, OOS, QA decision."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from ..catalog import Service
from ..ids import CoI
from ..registry import REGISTRY, Contract
from .common import Actor

Q = Service.QC


class PanelOutcome(StrEnum):
    IN_SPECIFICATION = "in-specification"
    OUT_OF_SPECIFICATION = "out-of-specification"


class DecisionMeaning(StrEnum):
    """Part 11 signature meaning of a QA decision."""

    RELEASED = "released"
    REJECTED = "rejected"


class DeviationClass(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


class TestOrder(Contract):
    code: str
    name: str
    method: str
    limit: str = Field(description="human-readable acceptance criterion, e.g. '>= 70 %'")


class TestFailure(Contract):
    code: str
    value: str
    limit: str


# --- commands -------------------------------------------------------------------------


@REGISTRY.command(Q, "panel.order", version=1)
class OrderPanel(Contract):
    """Order the release panel for a lot from the product's specification."""

    coi: CoI
    lot_id: str
    product_code: str
    patient_weight_kg: float = Field(gt=0)
    attempt: int = Field(1, ge=1)
    actor: Actor


# --- events ---------------------------------------------------------------------------


@REGISTRY.event(Q, "panel.ordered", version=1)
class PanelOrdered(Contract):
    coi: CoI
    panel_id: str
    lot_id: str
    spec_id: str
    spec_version: int
    tests: list[TestOrder]
    ordered_at: AwareDatetime
    actor: Actor


@REGISTRY.event(Q, "result.recorded", version=1)
class ResultRecorded(Contract):
    coi: CoI
    panel_id: str
    lot_id: str
    test_code: str
    value: str
    unit: str | None = None
    within_limit: bool
    recorded_at: AwareDatetime
    actor: Actor


@REGISTRY.event(Q, "panel.evaluated", version=1)
class PanelEvaluated(Contract):
    """Every ordered test has a result: the lot is in or out of specification."""

    coi: CoI
    panel_id: str
    lot_id: str
    outcome: PanelOutcome
    failures: list[TestFailure] = Field(default_factory=list)
    deviation_id: str | None = None
    evaluated_at: AwareDatetime


@REGISTRY.event(Q, "deviation.opened", version=1)
class DeviationOpened(Contract):
    coi: CoI
    deviation_id: str
    lot_id: str
    classification: DeviationClass
    source: str
    description: str
    opened_at: AwareDatetime


@REGISTRY.event(Q, "lot.released", version=1)
class LotReleased(Contract):
    """QA released the lot with an e-signature; the certificate of analysis is issued."""

    coi: CoI
    lot_id: str
    panel_id: str
    certificate_id: str
    meaning: DecisionMeaning = DecisionMeaning.RELEASED
    decided_at: AwareDatetime
    actor: Actor


@REGISTRY.event(Q, "lot.release-rejected", version=1)
class LotReleaseRejected(Contract):
    coi: CoI
    lot_id: str
    panel_id: str
    reason: str
    meaning: DecisionMeaning = DecisionMeaning.REJECTED
    decided_at: AwareDatetime
    actor: Actor


class RecoveryDecision(StrEnum):
    """How a patient's journey goes on after its lot failed (decided by people)."""

    REMANUFACTURE = "remanufacture"  # from retained apheresis material
    NEW_COLLECTION = "new-collection"
    EXCEPTIONAL_RELEASE = "exceptional-release"  # OOS product at the physician's request
    END_JOURNEY = "end-journey"


@REGISTRY.event(Q, "recovery.decided", version=1)
class RecoveryDecided(Contract):
    """People decided how the journey goes on after its lot failed or was rejected. The
    journey waits for this decision and acts on it; it never chooses a recovery by itself."""

    coi: CoI
    lot_id: str
    decision: RecoveryDecision
    reason: str = Field(min_length=1, max_length=2000)
    decided_at: AwareDatetime
    actor: Actor
