"""Events and commands of the QC service: release panel, results, OOS, QA decision, the
deviation lifecycle (state changes, CAPA plan approval)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from ..bounds import INT32_MAX, LIST_MAX, WEIGHT_MAX_KG
from ..catalog import Service
from ..ids import CoI
from ..registry import REGISTRY, Contract
from .common import Actor, Attempt, BoundedDate, BoundedDatetime, Identifier, Name, Text
from .equipment import AFFECTED_BATCHES_MAX

Q = Service.QC


class PanelOutcome(StrEnum):
    IN_SPECIFICATION = "in-specification"
    OUT_OF_SPECIFICATION = "out-of-specification"


class DecisionMeaning(StrEnum):
    """Part 11 signature meaning of a QA decision."""

    RELEASED = "released"
    CONDITIONALLY_RELEASED = "conditionally-released"  # results the spec allows pending
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
    lot_id: Identifier
    product_code: str = Field(min_length=1, max_length=32)
    patient_weight_kg: float = Field(gt=0, le=WEIGHT_MAX_KG)
    attempt: Attempt = 1
    actor: Actor


# --- events ---------------------------------------------------------------------------


@REGISTRY.event(Q, "panel.ordered", version=1)
class PanelOrdered(Contract):
    coi: CoI
    panel_id: Identifier
    lot_id: Identifier
    spec_id: Identifier
    spec_version: int = Field(ge=1, le=INT32_MAX)
    tests: list[TestOrder] = Field(max_length=LIST_MAX)
    ordered_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(Q, "result.recorded", version=1)
class ResultRecorded(Contract):
    coi: CoI
    panel_id: Identifier
    lot_id: Identifier
    test_code: Identifier
    value: str
    unit: Identifier | None = None
    within_limit: bool
    recorded_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(Q, "panel.evaluated", version=1)
class PanelEvaluated(Contract):
    """Every ordered test has a result: the lot is in or out of specification."""

    coi: CoI
    panel_id: Identifier
    lot_id: Identifier
    outcome: PanelOutcome
    failures: list[TestFailure] = Field(default_factory=list, max_length=LIST_MAX)
    deviation_id: Identifier | None = None
    evaluated_at: BoundedDatetime


@REGISTRY.event(Q, "deviation.opened", version=1)
class DeviationOpened(Contract):
    coi: CoI
    deviation_id: Identifier
    lot_id: Identifier
    classification: DeviationClass
    source: str
    description: str
    opened_at: BoundedDatetime


@REGISTRY.event(Q, "lot.released", version=2)
class LotReleased(Contract):
    """QA released the lot with an e-signature; the certificate of analysis is issued.

    v2: ``conditional`` — released with ``pending_tests`` still outstanding (tests the
    specification allows pending at release, e.g. 14-day sterility; meaning
    ``conditionally-released``). The lot counts as released (custody thaws it, the journey
    goes on); QC follows with ``qc.lot.release-finalized`` when the results land in
    specification, or a critical deviation and a hold on the lot when one does not."""

    coi: CoI
    lot_id: Identifier
    panel_id: Identifier
    certificate_id: Identifier
    meaning: DecisionMeaning = DecisionMeaning.RELEASED
    decided_at: BoundedDatetime
    actor: Actor
    conditional: bool = False
    pending_tests: list[Identifier] = Field(default_factory=list, max_length=LIST_MAX)


@REGISTRY.upcaster(LotReleased, 1)
def _lot_released_v1(data: dict[str, Any]) -> dict[str, Any]:
    # v1 knew final releases only
    return {**data, "conditional": False, "pending_tests": []}


@REGISTRY.event(Q, "lot.release-finalized", version=1)
class LotReleaseFinalized(Contract):
    """A conditional release became final: every pending result landed within its limit and
    QC's reviewer reviewed them (``actor``: the reviewer)."""

    coi: CoI
    lot_id: Identifier
    certificate_id: Identifier
    tests: list[Identifier] = Field(min_length=1, max_length=LIST_MAX)
    finalized_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(Q, "lot.release-rejected", version=1)
class LotReleaseRejected(Contract):
    coi: CoI
    lot_id: Identifier
    panel_id: Identifier
    reason: Text
    meaning: DecisionMeaning = DecisionMeaning.REJECTED
    decided_at: BoundedDatetime
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
    lot_id: Identifier
    decision: RecoveryDecision
    reason: Text = Field(min_length=1)
    decided_at: BoundedDatetime
    actor: Actor


# --- the deviation lifecycle ------------------------------------------------------------


class DeviationStatus(StrEnum):
    """Where a deviation is in its lifecycle (docs/quality.md)."""

    OPENED = "opened"
    TRIAGED = "triaged"
    CONTAINED = "contained"
    INVESTIGATED = "investigated"
    CAPA_APPROVED = "capa-approved"
    IMPLEMENTED = "implemented"
    CLOSED = "closed"
    EFFECTIVE = "effective"
    NOT_EFFECTIVE = "not-effective"


@REGISTRY.event(Q, "deviation.state-changed", version=1)
class DeviationStateChanged(Contract):
    """A deviation moved on in its lifecycle (triaged, contained, investigated, CAPA
    approved, implemented, closed, its CAPA found effective or not), or QA classified it
    again (``state`` = ``previous_state``; the class or the reportable flag changed). Its
    subject is the deviation's CoI, or its id for a deviation on batches (no one CoI).
    ``note``: what the act recorded (the rationale, containment, root cause, reason)."""

    deviation_id: Identifier
    coi: CoI | None = None
    lot_ids: list[Identifier] = Field(default_factory=list, max_length=AFFECTED_BATCHES_MAX)
    site: Name | None = None
    source: Name
    classification: DeviationClass
    previous_classification: DeviationClass
    state: DeviationStatus
    previous_state: DeviationStatus
    reportable: bool = False
    closure_due: BoundedDate | None = None
    report_due: BoundedDate | None = None
    effectiveness_check_due: BoundedDate | None = None
    note: Text | None = None
    opened_by: Actor
    changed_at: BoundedDatetime
    actor: Actor


class CapaKind(StrEnum):
    CORRECTIVE = "corrective"
    PREVENTIVE = "preventive"


class CapaActionOrder(Contract):
    """One action of an approved CAPA plan: who owns it and when it is due."""

    action_id: Identifier
    description: Text
    owner: Identifier = Field(description="the owner's user id")
    due_date: BoundedDate
    kind: CapaKind


@REGISTRY.event(Q, "deviation.capa-approved", version=1)
class CapaPlanApproved(Contract):
    """QA approved a deviation's CAPA plan with an e-signature (meaning approved): each
    action with its owner and due date, and when the CAPA's effectiveness is checked (if
    the plan set it; else at closure). Subject as DeviationStateChanged."""

    deviation_id: Identifier
    coi: CoI | None = None
    lot_ids: list[Identifier] = Field(default_factory=list, max_length=AFFECTED_BATCHES_MAX)
    site: Name | None = None
    classification: DeviationClass
    actions: list[CapaActionOrder] = Field(min_length=1, max_length=LIST_MAX)
    effectiveness_check_due: BoundedDate | None = None
    approved_at: BoundedDatetime
    actor: Actor
