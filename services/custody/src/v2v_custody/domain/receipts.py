"""A receipt scan and its outcome: what the receiving site scanned, and the receipt
accepted or the refusal recorded (shared by a known unit and an unknown unit id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .events import LocationKind, ReceiptRefused, RefusalReason, UnitKind


@dataclass(frozen=True)
class ReceiptScan:
    """What the receiving site scanned and measured."""

    unit_id: str
    scanned_coi: str
    scanned_din: str | None
    location: str
    location_kind: LocationKind
    temperature_c: float | None = None
    minutes_out_of_storage: float | None = None


@dataclass(frozen=True)
class Receipt:
    transfer_id: str
    unit_id: str
    coi: str
    unit_kind: UnitKind
    din: str | None
    from_party: str
    location: str
    location_kind: LocationKind
    scanned_coi: str
    scanned_din: str | None
    temperature_c: float | None
    minutes_out_of_storage: float | None
    received_at: datetime


@dataclass(frozen=True)
class Accepted:
    receipt: Receipt
    new: bool  # False: the same unit was already received at this location


@dataclass(frozen=True)
class Refused:
    event: ReceiptRefused

    @property
    def code(self) -> RefusalReason:
        return self.event.reason_code

    @property
    def reason(self) -> str:
        return self.event.reason


ReceiptDecision = Accepted | Refused


def refusal_of(
    scan: ReceiptScan, coi: str | None, code: RefusalReason, reason: str, now: datetime
) -> ReceiptRefused:
    return ReceiptRefused(
        unit_id=scan.unit_id,
        coi=coi,
        scanned_coi=scan.scanned_coi,
        scanned_din=scan.scanned_din,
        location=scan.location,
        location_kind=scan.location_kind,
        temperature_c=scan.temperature_c,
        minutes_out_of_storage=scan.minutes_out_of_storage,
        reason_code=code,
        reason=reason,
        refused_at=now,
    )
