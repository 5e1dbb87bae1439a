"""The release package of a lot, what QA reviews before deciding (by exception): QC's results
against the specification version, the lot's deviations (batch exceptions among them: QC
opens one per exception) with class and state, the audit-trail review, holds, the qualified
person's certification, a conditional release's pending tests, the batch record and its
review by exception (an MBR-executed batch's) — and the ``blockers``: the
very checks QA's release makes (release.py, domain/lot.py, release_rules.py), each problem
they would answer with listed instead of raised."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.batch_record import BatchRecord
from ..domain.common import Who
from ..domain.deviation import Deviation
from ..domain.events import Classification, Decision
from ..domain.hold import HoldKind
from ..domain.lot import Lot
from ..domain.panel import Panel
from ..domain.release_events import QpCertification
from ..domain.release_policy import ReleasePolicy
from ..domain.trail_review import TrailPart, release_blocked_by_review
from .batch_record import batch_record_of
from .ports import ActiveHolds, TrailHeads
from .release_checks import blockers, latest_review, load_lot


class PackageResult(BaseModel):
    code: str
    name: str
    limit: str
    may_be_pending_at_release: bool
    value: str | None  # None: no result yet
    unit: str | None
    within_limit: bool | None
    recorded_by: Who | None
    revisions: int


class PackageDeviation(BaseModel):
    deviation_id: str
    classification: Classification
    state: str
    source: str
    open: bool


class PackageTrailReview(BaseModel):
    reviewed_at: datetime
    reviewed_by: Who
    parts: list[TrailPart]
    current: bool  # no records moved since


class PackageHold(BaseModel):
    hold_id: str
    deviation_id: str | None


class PackageQcReview(BaseModel):
    """The QC reviewer's review of the panel's results (a second person, signed)."""

    reviewed_at: datetime
    reviewed_by: Who
    current: bool  # no result entered or corrected since
    changed_since: list[str]


class PackageBatchRecord(BaseModel):
    """The lot's batch record as QC knows it from batch's events: executed from an MBR (or
    the fixed process steps: nothing to review), and QA's review by exception of it."""

    batch_id: str
    executed_from_mbr: bool
    mbr: str | None  # "<product code> v<version> at <site>"
    reviewed: bool
    reviewed_at: datetime | None
    reviewed_by: Who | None
    exceptions: int | None  # as the review counted them (each dispositioned by QA)
    corrections: int | None
    late_entries: int | None


class Blocker(BaseModel):
    code: str  # the problem type the release would answer with
    detail: str
    extra: dict[str, object]


class ReleasePackage(BaseModel):
    lot_id: str
    coi: str | None
    batch_id: str | None
    manufacturing_site: str | None
    panel_id: str | None
    spec_id: str | None
    spec_version: int | None
    batch_record: PackageBatchRecord | None  # None: QC does not know the lot's batch yet
    results: list[PackageResult]
    qc_review: PackageQcReview | None  # None: not reviewed yet
    deviations: list[PackageDeviation]
    audit_trail_review: PackageTrailReview | None
    holds: list[PackageHold]
    qp_certification_required: bool
    qp_certification: QpCertification | None
    decision: Decision | None
    certificate_id: str | None
    pending_tests: list[str]  # a conditional release's
    release_finalized: bool
    conditional_release_failed: bool
    blockers: list[Blocker]


def _blocker(error: DomainError) -> Blocker:
    return Blocker(code=error.code, detail=error.detail, extra=dict(error.extra))


async def release_package(uow: UnitOfWork, lot_id: str, policy: ReleasePolicy) -> ReleasePackage:
    lot = await load_lot(uow, lot_id)
    panel = None if lot.panel_id is None else await uow.repository(Panel).find(lot.panel_id)
    review = await latest_review(uow, lot_id)
    current = {} if lot.coi is None else await uow.port(TrailHeads).current(lot.coi)
    holds = await uow.port(ActiveHolds).on(HoldKind.LOT, lot_id)
    qp_required = policy.requires_qp(lot.manufacturing_site)
    found = [] if lot.decision is not None else await blockers(uow, lot, panel, qp_required)
    blocking = [_blocker(e) for e in found]
    released = lot.released
    return ReleasePackage(
        lot_id=lot_id,
        coi=lot.coi,
        batch_id=None if lot.registered is None else lot.registered.batch_id,
        manufacturing_site=lot.manufacturing_site,
        panel_id=lot.panel_id,
        spec_id=None if panel is None else panel.spec.spec_id,
        spec_version=None if panel is None else panel.spec.version,
        batch_record=_batch_record(await batch_record_of(uow, lot)),
        results=[] if panel is None else _results(panel),
        qc_review=None if panel is None else _qc_review(panel),
        deviations=await _deviations(uow, lot),
        audit_trail_review=None
        if review is None
        else PackageTrailReview(
            reviewed_at=review.reviewed_at,
            reviewed_by=review.reviewed_by,
            parts=review.parts,
            current=release_blocked_by_review(lot_id, review, current) is None,
        ),
        holds=[PackageHold(hold_id=h, deviation_id=d) for h, d in holds],
        qp_certification_required=qp_required,
        qp_certification=lot.certification,
        decision=None if released is None else released.certificate.decision,
        certificate_id=None if released is None else released.certificate.certificate_id,
        pending_tests=lot.pending_tests,
        release_finalized=lot.finalized is not None,
        conditional_release_failed=lot.failed is not None,
        blockers=blocking,
    )


def _batch_record(record: BatchRecord | None) -> PackageBatchRecord | None:
    if record is None:
        return None
    mbr, review = record.mbr, record.review
    return PackageBatchRecord(
        batch_id=record.batch_id,
        executed_from_mbr=record.executed_from_mbr,
        mbr=None if mbr is None else f"{mbr.product_code} v{mbr.version} at {mbr.site}",
        reviewed=review is not None,
        reviewed_at=None if review is None else review.reviewed_at,
        reviewed_by=None if review is None else review.reviewed_by,
        exceptions=None if review is None else review.exceptions,
        corrections=None if review is None else review.corrections,
        late_entries=None if review is None else review.late_entries,
    )


def _qc_review(panel: Panel) -> PackageQcReview | None:
    if not panel.reviews:
        return None
    last = panel.reviews[-1]
    return PackageQcReview(
        reviewed_at=last.reviewed_at,
        reviewed_by=last.reviewed_by,
        current=panel.reviewed_current,
        changed_since=panel.changed_since_review,
    )


def _results(panel: Panel) -> list[PackageResult]:
    out = []
    for t in panel.spec.tests:
        r = panel.results.get(t.code)
        out.append(
            PackageResult(
                code=t.code,
                name=t.name,
                limit=t.limit,
                may_be_pending_at_release=t.may_be_pending_at_release,
                value=None if r is None else r.value,
                unit=None if r is None else r.unit,
                within_limit=None if r is None else r.within_limit,
                recorded_by=None if r is None else r.recorded_by,
                revisions=len(panel.history.get(t.code, [])),
            )
        )
    return out


async def _deviations(uow: UnitOfWork, lot: Lot) -> list[PackageDeviation]:
    out = []
    repo = uow.repository(Deviation)
    for deviation_id, (classification, is_open) in lot.deviations.items():
        found = await repo.find(deviation_id)
        out.append(
            PackageDeviation(
                deviation_id=deviation_id,
                classification=classification,
                state="unknown" if found is None else found.state.value,
                source="unknown" if found is None else found.info.source,
                open=is_open,
            )
        )
    return out
