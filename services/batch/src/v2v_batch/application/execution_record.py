"""Builds the views of an MBR-executed batch (and of MBR versions) from the aggregates'
state and the signatures of their streams."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from v2v_runtime.errors import DomainError
from v2v_runtime.signatures.model import SignatureView

from ..domain import Batch, Operator
from ..domain.em_limits import Level
from ..domain.execution import ExceptionRecord, PerformedStep
from ..domain.mbr import MasterBatchRecord, MbrVersion
from ..domain.mbr_content import MbrContent, MbrStep
from .em_views import EmResultView
from .execution_views import (
    ChangeControlNote,
    Correction,
    CorrectionEntry,
    DeviationEntry,
    Dispositioned,
    ExceptionView,
    ExecutedStep,
    ExecutionView,
    LateEntry,
    MbrVersionSummary,
    MbrVersionView,
    PinnedMbr,
    Reviewed,
    ReviewView,
    ValueView,
    Voided,
    Who,
)
from .freezer_run_record import freezer_run_views

Signed = Mapping[str, SignatureView]
# Per step id: the alert and action results of its room over its time (read-model query).
Environment = Mapping[str, Sequence[EmResultView]]
NO_RESULTS: Environment = {}


def _who(o: Operator) -> Who:
    return Who(user_id=o.user_id, role=o.role)


def _sigs(signed: Signed, *ids: str | None) -> list[SignatureView]:
    return [signed[i] for i in ids if i is not None and i in signed]


def mbr_summary(mbr: MasterBatchRecord, v: MbrVersion) -> MbrVersionSummary:
    return MbrVersionSummary(**_summary(mbr, v))


def _summary(mbr: MasterBatchRecord, v: MbrVersion) -> dict[str, object]:
    return {
        "product_code": mbr.product_code,
        "site": mbr.site,
        "version": v.version,
        "status": v.status.value,
        "title": v.content.title,
        "therapy": v.content.therapy,
        "drafted_at": v.drafted_at,
        "drafted_by": _who(v.drafted_by),
        "approved_at": v.approved_at,
        "effective_at": v.effective_at,
        "ended_at": v.ended_at,
        "change_control_id": v.change_control_id,
    }


def mbr_version_view(mbr: MasterBatchRecord, v: MbrVersion, signed: Signed) -> MbrVersionView:
    cc = mbr.change_controls.get(v.version)
    return MbrVersionView(
        **_summary(mbr, v),
        content=v.content,
        content_hash=v.content.content_hash(),
        approved_by=None if v.approved_by is None else _who(v.approved_by),
        change_control=None
        if cc is None
        else ChangeControlNote(
            change_control_id=cc.change_control_id,
            approved_by=_who(cc.approved_by),
            approved_at=cc.approved_at,
            noted_at=cc.noted_at,
        ),
        end_reason=v.end_reason,
        history=list(v.history),
        signatures=_sigs(signed, v.approval_signature_id),
    )


def pinned(batch: Batch) -> PinnedMbr:
    pin = batch.pinned
    assert pin is not None
    return PinnedMbr(
        product_code=pin.product_code,
        site=pin.site,
        version=pin.version,
        title=pin.title,
        content_hash=pin.content_hash,
    )


def _values(step: MbrStep, done: PerformedStep, signed: Signed) -> list[ValueView]:
    shown = []
    for v in done.values:
        p = step.parameter(v.name)
        assert p is not None
        corrections = [
            Correction(
                old=c.old.value,
                new=c.new.value,
                unit=c.new.unit,
                reason=c.reason,
                corrected_by=_who(c.corrected_by),
                corrected_at=c.corrected_at,
                signatures=_sigs(signed, c.signature_id),
            )
            for c in done.corrections
            if c.new.name == v.name
        ]
        shown.append(
            ValueView(
                name=v.name,
                label=p.label,
                value=v.value,
                unit=v.unit,
                limits=p.limits_text(),
                target=p.target,
                critical=p.critical,
                within_limits=v.within_limits,
                changed_after_entry=bool(corrections),
                corrections=corrections,
            )
        )
    return shown


def _step(
    content: MbrContent,
    step: MbrStep,
    done: PerformedStep | None,
    signed: Signed,
    environment: Sequence[EmResultView] = (),
) -> ExecutedStep:
    planned = {
        "step_id": step.step_id,
        "name": step.name,
        "operation": content.operation_of(step.step_id).name,
        "position": content.position(step.step_id),
        "sop": f"{step.sop.document_id} v{step.sop.version}",
        "qualification": step.qualification,
        "verification_required": step.verified,
    }
    if done is None:
        return ExecutedStep(**planned, status="pending")
    p, verified = done.performed, done.verified
    return ExecutedStep(
        **planned,
        status="verified" if verified else "performed",
        room=p.room,
        started_at=p.started_at,
        ended_at=p.ended_at,
        values=_values(step, done, signed),
        materials=[m.model_dump(mode="json") for m in p.materials],
        equipment=[e.model_dump(mode="json") for e in p.equipment],
        comment=p.comment,
        performed_by=_who(p.performed_by),
        recorded_at=p.recorded_at,
        late=p.late,
        verified_by=None if verified is None else _who(verified.verified_by),
        verified_at=None if verified is None else verified.verified_at,
        voided_verifications=[
            Voided(verified_by=_who(v.verified_by), verified_at=v.verified_at) for v in done.voided
        ],
        signatures=_sigs(
            signed,
            p.signature_id,
            *(v.signature_id for v in done.voided),
            None if verified is None else verified.signature_id,
        ),
        environment=list(environment),
    )


def _exception(e: ExceptionRecord, signed: Signed) -> ExceptionView:
    r, d = e.raised, e.disposition
    return ExceptionView(
        exception_id=r.exception_id,
        step_id=r.step_id,
        kind=r.exception_kind.value,
        parameter=r.parameter,
        value=r.value,
        limit=r.limit,
        detail=r.detail,
        raised_at=r.raised_at,
        freezer_run_id=r.freezer_run_id,
        disposition=None
        if d is None
        else Dispositioned(
            disposition=d.disposition.value,
            rationale=d.rationale,
            deviation_id=d.deviation_id,
            dispositioned_by=_who(d.dispositioned_by),
            dispositioned_at=d.dispositioned_at,
            signatures=_sigs(signed, d.signature_id),
        ),
    )


def _reviewed(batch: Batch, signed: Signed) -> Reviewed | None:
    r = batch.review
    if r is None:
        return None
    return Reviewed(
        reviewed_by=_who(r.reviewed_by),
        reviewed_at=r.reviewed_at,
        exceptions=r.exceptions,
        corrections=r.corrections,
        late_entries=r.late_entries,
        signatures=_sigs(signed, r.signature_id),
    )


def execution_view(
    batch: Batch, content: MbrContent, signed: Signed, environment: Environment = NO_RESULTS
) -> ExecutionView:
    nxt = batch.next_mbr_step(content)
    return ExecutionView(
        mbr=pinned(batch),
        next_step=None if nxt is None else nxt.step_id,
        steps=[
            _step(
                content, s, batch.performed.get(s.step_id), signed, environment.get(s.step_id, ())
            )
            for s in content.steps
        ],
        exceptions=[_exception(e, signed) for e in batch.exceptions.values()],
        freezer_runs=freezer_run_views(batch, signed),
        review=_reviewed(batch, signed),
    )


def departures(environment: Environment) -> list[EmResultView]:
    """What a review by exception lists of the rooms' monitoring: each action excursion
    and each result completing an alert trend, once, in the order sampled."""
    found = {
        r.result_id: r
        for shown in environment.values()
        for r in shown
        if r.level == Level.ACTION.value or r.alert_trend
    }
    return sorted(found.values(), key=lambda r: r.sampled_at)


def review_view(
    batch: Batch, content: MbrContent, signed: Signed, environment: Environment = NO_RESULTS
) -> ReviewView:
    record = execution_view(batch, content, signed, environment)
    corrections = [
        CorrectionEntry(step_id=s.step_id, parameter=v.name, correction=c)
        for s in record.steps
        for v in s.values
        for c in v.corrections
    ]
    late = [
        LateEntry(
            step_id=s,
            ended_at=p.performed.ended_at,
            recorded_at=p.performed.recorded_at,
            performed_by=_who(p.performed.performed_by),
        )
        for s, p in batch.performed.items()
        if p.performed.late
    ]
    deviations = [
        DeviationEntry(
            exception_id=e.exception_id,
            deviation_id=None if e.disposition is None else e.disposition.deviation_id,
            detail=e.detail,
        )
        for e in record.exceptions
    ]
    try:
        batch.check_review(content)
        blocking: list[str] = []
    except DomainError as refused:
        blocking = (
            [] if refused.code == "record-reviewed" else [f"{refused.code}: {refused.detail}"]
        )
    return ReviewView(
        batch_id=batch.id,
        mbr=record.mbr,
        exceptions=record.exceptions,
        deviations=deviations,
        corrections=corrections,
        late_entries=late,
        environment=departures(environment),
        blocking=blocking,
        review=record.review,
    )
