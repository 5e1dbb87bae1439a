"""Pure rules of the equipment register on plain values: an instrument's status at a time,
what was in force then, why a use is refused, and which batches a usage log names."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from v2v_runtime.errors import Conflict, DomainError

from .equipment_events import AffectedBatch, EquipmentRegistered, EquipmentStatus

# (effective from, value): what was in force at a time is the last entry not after it.
Timeline = list[tuple[datetime, datetime]]


def in_force(timeline: Timeline, at: datetime) -> datetime | None:
    found = None
    for since, value in timeline:
        if since <= at:
            found = value
    return found


def status_of(
    at: datetime,
    *,
    in_service_from: datetime,
    out_of_service: bool,
    calibration_due: datetime | None,
    maintenance_due: datetime | None,
) -> EquipmentStatus:
    """An instrument's status at ``at`` from what was in force then."""
    if at < in_service_from or out_of_service:
        return EquipmentStatus.OUT_OF_SERVICE
    if calibration_due is not None and at >= calibration_due:
        return EquipmentStatus.CALIBRATION_DUE
    if maintenance_due is not None and at >= maintenance_due:
        return EquipmentStatus.MAINTENANCE_DUE
    return EquipmentStatus.IN_SERVICE


def refusal(
    equipment_id: str,
    status: EquipmentStatus,
    at: datetime,
    in_service_from: datetime,
    calibration_due: datetime | None,
    maintenance_due: datetime | None,
) -> tuple[str, str]:
    """The problem code and reason refusing a use at ``at`` of an instrument in ``status``."""
    when = at.isoformat()
    if status is EquipmentStatus.CALIBRATION_DUE and calibration_due is not None:
        return (
            "calibration-overdue",
            f"{equipment_id}'s calibration was due at {calibration_due.isoformat()}: "
            f"overdue at {when}",
        )
    if status is EquipmentStatus.MAINTENANCE_DUE and maintenance_due is not None:
        return (
            "maintenance-overdue",
            f"{equipment_id}'s preventive maintenance was due at "
            f"{maintenance_due.isoformat()}: overdue at {when}",
        )
    why = f" (in service only from {in_service_from.isoformat()})" if at < in_service_from else ""
    return "equipment-out-of-service", f"{equipment_id} is out of service at {when}{why}"


def check_performed(
    info: EquipmentRegistered,
    what: str,
    performed_at: datetime,
    recorded_at: datetime,
    last: datetime | None,
) -> None:
    """A calibration or maintenance (``what``) is recorded once performed, in order (after
    the last one of its kind), and while the instrument is in service (the due times it was
    registered with cover what came before)."""
    if performed_at > recorded_at:
        raise DomainError(f"{what}-in-future", "performed_at lies after now", field="performed_at")
    if performed_at < info.in_service_from:
        raise DomainError(
            f"{what}-before-service",
            f"performed_at lies before the instrument entered service "
            f"({info.in_service_from.isoformat()})",
            field="performed_at",
        )
    if last is not None and performed_at < last:
        raise Conflict(
            f"{what}-out-of-order",
            f"{info.equipment_id} has a later {what} recorded ({last.isoformat()})",
            field="performed_at",
        )


def check_next_due(what: str, performed_at: datetime, due: datetime) -> None:
    if due <= performed_at:
        raise DomainError(
            f"next-due-before-{what}",
            "next_due_at must lie after performed_at",
            field="next_due_at",
        )


class BatchUse(Protocol):
    """One use at a step of a batch: an instrument's (usage log) or a material lot's
    (genealogy)."""

    @property
    def batch_id(self) -> str: ...
    @property
    def coi(self) -> str: ...
    @property
    def step(self) -> str: ...
    @property
    def used_at(self) -> datetime: ...


def batches_used(
    uses: Iterable[BatchUse], since: datetime | None = None, until: datetime | None = None
) -> tuple[AffectedBatch, ...]:
    """The batches with a use in ``since .. until`` (an open end: no bound), first used
    first, each with its steps and first and last use."""
    found: dict[str, list[BatchUse]] = {}
    for use in uses:
        if (since is None or use.used_at >= since) and (until is None or use.used_at <= until):
            found.setdefault(use.batch_id, []).append(use)
    listed = [
        AffectedBatch(
            batch_id=batch_id,
            coi=batch_uses[0].coi,
            steps=tuple(dict.fromkeys(u.step for u in batch_uses)),
            first_used_at=min(u.used_at for u in batch_uses),
            last_used_at=max(u.used_at for u in batch_uses),
        )
        for batch_id, batch_uses in found.items()
    ]
    return tuple(sorted(listed, key=lambda b: (b.first_used_at, b.batch_id)))
