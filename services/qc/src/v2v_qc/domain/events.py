"""Domain events of the QC service (internal: stored as ``qc.<kind>``; the application maps
them to the public contracts in v2v_events.contracts.qc), and the values they carry: the
outcome of a panel, the classification of a deviation, the QA decision and the certificate
of analysis.

Streams: a panel (stream id = panel id), a deviation (= deviation id), a lot
(``qc-lot:<lot id>``, see ``lot_stream``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.qc import RecoveryDecision
from v2v_runtime.domain import Change, DomainEvent, Upcaster

from .common import Who
from .dose import DoseCalculation
from .release_events import RELEASE_EVENTS, QpCertification
from .spec import Spec

# --- values the events carry ------------------------------------------------------------


class PanelStatus(StrEnum):
    ORDERED = "ordered"
    IN_SPECIFICATION = "in-specification"
    OUT_OF_SPECIFICATION = "out-of-specification"


class Failure(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    value: str
    limit: str


class Classification(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


class DeviationState(StrEnum):
    """Where a deviation is in its lifecycle (domain/deviation_states.py: what may follow)."""

    OPENED = "opened"
    TRIAGED = "triaged"  # classified by QA
    CONTAINED = "contained"  # containment recorded
    INVESTIGATED = "investigated"  # root cause recorded
    CAPA_APPROVED = "capa-approved"  # CAPA plan approved by QA; its actions under way
    IMPLEMENTED = "implemented"  # every CAPA action done
    CLOSED = "closed"  # by QA; with CAPA, its effectiveness check is still to come
    EFFECTIVE = "effective"  # effectiveness check: the CAPA worked
    NOT_EFFECTIVE = "not-effective"  # it did not: a follow-up deviation was opened


class Decision(StrEnum):
    RELEASE = "release"
    CONDITIONAL_RELEASE = "conditional-release"  # results the spec allows still pending
    REJECT = "reject"


class Meaning(StrEnum):
    """Part 11 meaning of the QA signature."""

    RELEASED = "released"
    CONDITIONALLY_RELEASED = "conditionally-released"
    REJECTED = "rejected"


# --- certificate of analysis ------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CertificateResult(_Frozen):
    code: str
    name: str
    method: str
    limit: str
    value: str
    unit: str | None
    within_limit: bool
    recorded_by: Who
    recorded_at: datetime
    corrected: bool = Field(description="changed after the original entry (see history)")
    revisions: int


class CertificateDeviation(_Frozen):
    deviation_id: str
    classification: Classification
    state: DeviationState


class Certificate(_Frozen):
    certificate_id: str
    coi: str
    lot_id: str
    batch_id: str | None
    panel_id: str
    product_code: str
    spec_id: str
    spec_version: int
    outcome: PanelStatus
    results: list[CertificateResult]
    deviations: list[CertificateDeviation]
    decision: Decision
    meaning: Meaning
    reason: str
    reviewer: Who
    decided_at: datetime
    # A conditional release: the tests whose results were still outstanding (the spec allows
    # it); ``results`` holds those recorded, ``outcome`` judges them.
    conditional: bool = False
    pending_tests: list[str] = Field(default_factory=list)
    qp_certification: QpCertification | None = None


# --- panel stream ---------------------------------------------------------------------


class PanelOrdered(DomainEvent):
    kind = "panel.ordered"

    panel_id: str
    coi: str
    lot_id: str
    product_code: str
    spec: Spec
    patient_weight_kg: float = Field(gt=0)
    attempt: int = Field(ge=1)
    ordered_at: datetime
    ordered_by: Who


class ResultRecorded(DomainEvent):
    kind = "result.recorded"

    panel_id: str
    test_code: str
    revision: int = Field(ge=1, description="1 = original entry, 2+ = corrections")
    value: str
    numeric: float | None = None
    unit: str | None = None
    within_limit: bool
    recorded_at: datetime
    recorded_by: Who
    correction_reason: str | None = None
    # one of the configured reason codes (a correction; None before codes were kept)
    reason_code: str | None = None
    previous_value: str | None = None
    calculation: DoseCalculation | None = None

    def changes(self) -> list[Change]:
        if self.revision == 1 or self.previous_value is None:
            return []
        return [Change(field=self.test_code, old=self.previous_value, new=self.value)]


class PanelEvaluated(DomainEvent):
    kind = "panel.evaluated"

    panel_id: str
    outcome: PanelStatus
    failures: list[Failure] = Field(default_factory=list)
    deviation_id: str | None = None
    evaluated_at: datetime


class PanelReviewed(DomainEvent):
    """A QC reviewer reviewed the panel's results as they stood: ``results`` names the
    revision of each result reviewed, so a later correction makes this review stale."""

    kind = "panel.reviewed"

    panel_id: str
    results: dict[str, int] = Field(description="test code -> revision reviewed")
    outcome: PanelStatus
    comment: str | None = None
    reviewed_at: datetime
    reviewed_by: Who


# --- deviation stream -----------------------------------------------------------------


class DeviationBatch(_Frozen):
    """A batch a deviation concerns (e.g. one made with an instrument found out of
    tolerance): its chain of identity and what it says of the batch."""

    batch_id: str
    coi: str
    detail: str = ""


def _opened_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 named no units, shipment or material lot.
    return {**payload, "unit_ids": [], "shipment_id": None, "material_lot_id": None}


class DeviationOpened(DomainEvent):
    """A deviation: on one lot (``coi`` and ``lot_id``: OOS, excursion, ...); on batches
    (``batches``, with no one lot: an instrument found out of tolerance at ``site``, naming
    ``equipment_id``; a material lot rejected after use, naming ``material_lot_id``); or on
    a chain of identity with no lot of its own (``coi``, ``site``: a receipt refused, naming
    ``unit_ids``; a shipment's excursion, naming ``shipment_id`` and its units; a missed
    deadline), naming the batches of the lots QC knows those units or that deadline of."""

    kind = "deviation.opened"
    schema_version = 2  # v2: unit_ids, shipment_id, material_lot_id
    upcasters: ClassVar[dict[int, Upcaster]] = {1: _opened_v1_to_v2}

    deviation_id: str
    coi: str | None
    lot_id: str | None
    panel_id: str | None = None
    classification: Classification
    source: str
    description: str
    opened_at: datetime
    opened_by: Who
    site: str | None = None
    equipment_id: str | None = None
    batches: list[DeviationBatch] = Field(default_factory=list)
    unit_ids: list[str] = Field(default_factory=list)
    shipment_id: str | None = None
    material_lot_id: str | None = None


class DeviationLotAffected(DomainEvent):
    """A lot made in a batch the deviation names: linked to it (its release waits)."""

    kind = "deviation.lot-affected"

    deviation_id: str
    batch_id: str
    lot_id: str
    coi: str


def _classified_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 knew no triage: no state recorded, not reportable, no targets kept.
    return {
        **payload,
        "previous_state": None,
        "reportable": False,
        "previous_reportable": None,
        "reportable_reason": None,
        "closure_due": None,
        "report_due": None,
    }


class DeviationClassified(DomainEvent):
    """QA classified (triaged) the deviation: the opener's classification was a proposal.
    The first classification triages it; a later one (the investigation changed the
    picture) may change its class, its reportable flag and so its targets."""

    kind = "deviation.classified"
    schema_version = 2  # v2: the triage (state, reportable flag and reason, due dates)
    upcasters: ClassVar[dict[int, Upcaster]] = {1: _classified_v1_to_v2}

    deviation_id: str
    classification: Classification
    previous: Classification  # the proposed one, or QA's earlier classification
    reason: str = Field(min_length=1)  # the rationale (the audit trail's "why")
    classified_at: datetime
    classified_by: Who
    previous_state: DeviationState | None = None  # opened: this classification triaged it
    reportable: bool = False
    previous_reportable: bool | None = None  # None: not reclassified, or before v2
    reportable_reason: str | None = None
    closure_due: date | None = None  # by this class, from the opening date
    report_due: date | None = None  # reportable: from discovery (the opening)

    def changes(self) -> list[Change]:
        found = []
        if self.previous is not self.classification:
            found.append(Change(field="classification", old=self.previous, new=self.classification))
        if self.previous_state is DeviationState.OPENED:
            found.append(Change(field="state", old=self.previous_state, new=DeviationState.TRIAGED))
        if self.previous_reportable is not None and self.previous_reportable != self.reportable:
            found.append(
                Change(field="reportable", old=self.previous_reportable, new=self.reportable)
            )
        return found


def _closed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1: closed straight after classification (no CAPA, nothing to check).
    return {
        **payload,
        "previous_state": None,
        "no_capa_justification": None,
        "effectiveness_due": None,
    }


class DeviationClosed(DomainEvent):
    """QA closed the deviation: after its CAPA was implemented (its effectiveness check due
    by ``effectiveness_due``), or after the investigation with no CAPA needed
    (``no_capa_justification``)."""

    kind = "deviation.closed"
    schema_version = 2  # v2: the state it was closed from, no-CAPA justification, check due
    upcasters: ClassVar[dict[int, Upcaster]] = {1: _closed_v1_to_v2}

    deviation_id: str
    reason: str = Field(min_length=1)
    closed_at: datetime
    closed_by: Who
    previous_state: DeviationState | None = None
    no_capa_justification: str | None = None
    effectiveness_due: date | None = None

    def changes(self) -> list[Change]:
        if self.previous_state is None:
            return []
        return [Change(field="state", old=self.previous_state, new=DeviationState.CLOSED)]


# --- lot stream -----------------------------------------------------------------------


def _registered_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 did not keep the manufacturing site: unknown for lots registered before.
    return {**payload, "manufacturing_site": None}


def _registered_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    # v2 did not keep the bags: a unit of a lot registered before is not traced to it.
    return {**payload, "bag_ids": []}


class LotRegistered(DomainEvent):
    kind = "lot.registered"
    # v2: the manufacturing site (who may see the lot's QC); v3: its bags (the units a
    # refused receipt or a shipment's excursion names are traced to the lot)
    schema_version = 3
    upcasters: ClassVar[dict[int, Upcaster]] = {1: _registered_v1_to_v2, 2: _registered_v2_to_v3}

    lot_id: str
    coi: str
    batch_id: str
    total_viable_cells: float = Field(gt=0)
    viability_pct: float
    attempt: int
    produced_at: datetime
    manufacturing_site: str | None
    bag_ids: list[str] = Field(default_factory=list)


class PanelAssigned(DomainEvent):
    kind = "lot.panel-assigned"

    lot_id: str
    coi: str
    panel_id: str


class DeviationLinked(DomainEvent):
    kind = "lot.deviation-linked"

    lot_id: str
    coi: str
    deviation_id: str
    classification: Classification


class LotDeviationClassified(DomainEvent):
    """A deviation of the lot was classified by QA: whether it blocks release may change."""

    kind = "lot.deviation-classified"

    lot_id: str
    deviation_id: str
    classification: Classification


class DeviationResolved(DomainEvent):
    kind = "lot.deviation-resolved"

    lot_id: str
    deviation_id: str


class LotReleased(DomainEvent):
    kind = "lot.released"

    lot_id: str
    certificate: Certificate


class LotRejected(DomainEvent):
    kind = "lot.rejected"

    lot_id: str
    coi: str
    panel_id: str
    reason: str
    decided_at: datetime
    decided_by: Who


class LotWithdrawn(DomainEvent):
    """Manufacturing rejected the lot (batch's lot.rejected), whatever QC had decided."""

    kind = "lot.withdrawn"

    lot_id: str
    reason: str
    withdrawn_at: datetime


class RecoveryChosen(DomainEvent):
    """People decided how the patient's journey goes on after this lot failed."""

    kind = "lot.recovery-decided"

    lot_id: str
    coi: str
    decision: RecoveryDecision
    reason: str
    decided_at: datetime
    decided_by: Who


DOMAIN_EVENTS: tuple[type[DomainEvent], ...] = (
    PanelOrdered,
    ResultRecorded,
    PanelEvaluated,
    PanelReviewed,
    DeviationOpened,
    DeviationClassified,
    DeviationClosed,
    LotRegistered,
    PanelAssigned,
    DeviationLinked,
    LotDeviationClassified,
    DeviationResolved,
    LotReleased,
    LotRejected,
    LotWithdrawn,
    RecoveryChosen,
    DeviationLotAffected,
    *RELEASE_EVENTS,
)
