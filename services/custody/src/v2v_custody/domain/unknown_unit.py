"""Refused receipt scans of unit ids custody does not know."""

from __future__ import annotations

from datetime import datetime

from v2v_runtime.domain import Aggregate, DomainEvent

from .events import ReceiptRefused, RefusalReason
from .receipts import ReceiptScan, Refused, refusal_of

UNKNOWN_UNIT_STREAM_PREFIX = "unknown-unit:"


class UnknownUnitScans(Aggregate):
    """Refused scans of a unit id custody does not know (stream ``unknown-unit:<id>``):
    evidence of a label that belongs to no registered unit."""

    @staticmethod
    def stream_id(unit_id: str) -> str:
        return UNKNOWN_UNIT_STREAM_PREFIX + unit_id

    def refuse(self, scan: ReceiptScan, now: datetime) -> Refused:
        event = refusal_of(
            scan,
            None,
            RefusalReason.UNKNOWN_UNIT,
            f"no unit {scan.unit_id!r} is registered in custody",
            now,
        )
        self._record(event)
        return Refused(event)

    def apply(self, event: DomainEvent) -> None:
        if not isinstance(event, ReceiptRefused):
            raise TypeError(f"UnknownUnitScans cannot apply {type(event).__name__}")
