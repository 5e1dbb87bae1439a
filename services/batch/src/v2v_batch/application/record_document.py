"""The executed batch record as a document for QA and inspectors (issue 13 §6, EU GMP
Annex 11 §8): every entry with who and when, the signatures with printed name, date and
time and meaning, the exceptions and their dispositions, and for each value whether it was
changed after its original entry (with the original and every change).

This is what the document says, in order (its title block and its sections); laying it out
as a PDF is the renderer's (adapters/pdf)."""

from __future__ import annotations

from dataclasses import dataclass, field

from v2v_runtime.signatures.model import SignatureView

from ..domain.freezer_curve import minutes
from .em_views import EmResultView
from .execution_views import ExecutedStep, ExecutionView, FreezerRunView, ValueView
from .views import BatchRecord


@dataclass(frozen=True)
class Section:
    title: str
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TitleBlock:
    """What identifies the record on its first page: the batch, its lot, product, MBR and
    CoI (a batch holds no patient-identifying data)."""

    title: str
    reference: str  # on every page: which record it is a page of
    fields: list[tuple[str, str]]


def _signature(s: SignatureView) -> str:
    return (
        f"Signed ({s.meaning.value}) by {s.signer_name} ({s.signer_id}, {s.signer_role}) "
        f"at {s.signed_at.isoformat()} UTC / {s.signed_at_site}"
    )


def _value(v: ValueView) -> list[str]:
    unit = f" {v.unit}" if v.unit else ""
    limits = "" if v.limits == "no limits" else f" [limits {v.limits}]"
    flag = " OUT OF LIMITS" if v.within_limits is False else ""
    critical = " (critical)" if v.critical else ""
    changed = "changed after original entry" if v.changed_after_entry else "as originally entered"
    lines = [f"{v.label}{critical}: {v.value}{unit}{limits}{flag} — {changed}"]
    for c in v.corrections:
        lines.append(
            f"  corrected from {c.old} to {c.new} by {c.corrected_by.user_id} at "
            f"{c.corrected_at.isoformat()}: {c.reason}"
        )
        lines += [f"  {_signature(s)}" for s in c.signatures]
    return lines


def _monitoring(r: EmResultView) -> str:
    """A monitoring result of a step's room, as the record shows it."""
    occupancy = f", {r.occupancy}" if r.occupancy else ""
    trend = " — ALERT TREND" if r.alert_trend else ""
    changed = " (changed after original entry)" if r.changed_after_entry else ""
    return (
        f"Environment {r.level.upper()}: room {r.room_id} (grade {r.grade}), {r.sample_type} "
        f"{r.sample_id} at {r.location}{occupancy}, sampled {r.sampled_at.isoformat()}: "
        f"{r.value:g} {r.unit}{changed} [{r.limits.text}; {r.edition}]{trend}"
    )


def _step(s: ExecutedStep) -> Section:
    title = f"{s.position}. {s.name} ({s.operation}; {s.sop})"
    if s.status == "pending":
        return Section(title, ["Not performed."])
    assert s.performed_by is not None and s.recorded_at is not None
    lines = [
        f"Room {s.room}; started {s.started_at}; ended {s.ended_at}",
        f"Performed by {s.performed_by.user_id} ({s.performed_by.role}); entered "
        f"{s.recorded_at.isoformat()}" + (" — LATE ENTRY" if s.late else ""),
    ]
    for v in s.values:
        lines += _value(v)
    lines += [
        f"Material {m['material_code']} lot {m['lot_id']}: {m['quantity']} {m['unit']}"
        for m in s.materials
    ]
    lines += [f"Equipment {e['equipment_id']} ({e['equipment_type']})" for e in s.equipment]
    if s.comment:
        lines.append(f"Comment: {s.comment}")
    lines += [_monitoring(r) for r in s.environment]
    lines += [
        f"Verified by {v.verified_by.user_id} at {v.verified_at.isoformat()} — voided by a "
        "later correction"
        for v in s.voided_verifications
    ]
    if s.verified_by is not None and s.verified_at is not None:
        lines.append(f"Verified by {s.verified_by.user_id} at {s.verified_at.isoformat()}")
    elif s.verification_required:
        lines.append("Second-person verification: OUTSTANDING")
    lines += [_signature(sig) for sig in s.signatures]
    return Section(title, lines)


def _freezer_run(r: FreezerRunView) -> Section:
    lines = [
        f"Step {r.step_id}; freezer {r.equipment_id}; profile {r.profile_id} "
        f"({r.profile_version}): {r.profile_name}",
        f"Started {r.started_at.isoformat()}; ended {r.ended_at.isoformat()}; {r.points} "
        f"points ({', '.join(r.probes)})",
        "Within the profile's band" if r.in_band else "OUTSIDE THE PROFILE'S BAND",
    ]
    if not r.completed:
        lines.append(
            f"PROGRAMME NOT COMPLETED: the curve ends at {minutes(r.curve_ends_s)} of "
            f"{minutes(r.programmed_s)}"
        )
    lines += [
        f"  Excursion of the {e.probe.value} probe from {minutes(e.from_s)} to "
        f"{minutes(e.to_s)} ({e.readings} reading(s)); worst: {e.worst.text()}"
        for e in r.excursions
    ]
    if r.exception_id:
        lines.append(f"Exception {r.exception_id} raised")
    lot = f"lot {r.lot_id}" if r.lot_id else "lot not produced yet"
    bags = ", ".join(r.bag_ids) if r.bag_ids else f"{r.bag_count} bag(s)"
    lines.append(f"Bags frozen: {bags} ({lot})")
    lines.append(
        f"Performed by {r.performed_by.user_id} ({r.performed_by.role}); entered "
        f"{r.recorded_at.isoformat()}" + (" — LATE ENTRY" if r.late else "")
    )
    if r.comment:
        lines.append(f"Comment: {r.comment}")
    lines += [_signature(sig) for sig in r.signatures]
    return Section(f"Controlled-rate freezer run {r.run_id}", lines)


def record_document(record: BatchRecord, execution: ExecutionView) -> list[Section]:
    mbr = execution.mbr
    header = Section(
        f"Executed batch record — batch {record.batch_id}",
        [
            f"Chain of identity {record.coi}; apheresis unit {record.apheresis_unit_id} "
            f"(DIN {record.din}); attempt {record.attempt} from {record.source}",
            f"Manufacturing site {record.manufacturing_site}; opened "
            f"{record.opened_at.isoformat()} by {record.opened_by.user_id}",
            f"Master batch record {mbr.product_code} version {mbr.version} at {mbr.site}: "
            f"{mbr.title} (content {mbr.content_hash})",
            f"Status {record.status}" + (f"; lot {record.lot_id}" if record.lot_id else ""),
        ],
    )
    shown = {r.result_id: r for s in execution.steps for r in s.environment}
    monitoring = Section(
        "Environmental monitoring: alert and action results of the rooms used",
        [_monitoring(r) for r in sorted(shown.values(), key=lambda r: r.sampled_at)] or ["None."],
    )
    exceptions = Section("Exceptions", [] if execution.exceptions else ["None."])
    for e in execution.exceptions:
        exceptions.lines.append(
            f"{e.exception_id} at {e.step_id} ({e.kind}): {e.detail}; "
            f"raised {e.raised_at.isoformat()}"
        )
        d = e.disposition
        if d is None:
            exceptions.lines.append("  Disposition: OUTSTANDING")
        else:
            exceptions.lines.append(
                f"  Disposition {d.disposition} by {d.dispositioned_by.user_id} at "
                f"{d.dispositioned_at.isoformat()}: {d.rationale}"
                + (f" (deviation {d.deviation_id})" if d.deviation_id else "")
            )
            exceptions.lines.extend(f"  {_signature(s)}" for s in d.signatures)
    review = Section("Review by exception")
    if execution.review is None:
        review.lines.append("Not reviewed.")
    else:
        r = execution.review
        review.lines.append(
            f"Reviewed by {r.reviewed_by.user_id} at {r.reviewed_at.isoformat()}: "
            f"{r.exceptions} exception(s), {r.corrections} correction(s), "
            f"{r.late_entries} late entr(ies)"
        )
        review.lines.extend(_signature(s) for s in r.signatures)
    return [
        header,
        *(_step(s) for s in execution.steps),
        *(_freezer_run(r) for r in execution.freezer_runs),
        monitoring,
        exceptions,
        review,
    ]


def title_block(record: BatchRecord, execution: ExecutionView) -> TitleBlock:
    mbr = execution.mbr
    return TitleBlock(
        "Executed batch record",
        f"Batch {record.batch_id}",
        [
            ("Batch", record.batch_id),
            ("Lot", record.lot_id or "not produced"),
            ("Product", f"{mbr.product_code} — {mbr.title}"),
            ("Master batch record", f"{mbr.product_code} version {mbr.version} at {mbr.site}"),
            ("Chain of identity", record.coi),
        ],
    )
