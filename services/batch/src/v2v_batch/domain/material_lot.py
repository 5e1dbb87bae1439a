"""A supplier's lot of a material received at a site (stream ``matlot-<lot id>``):
quarantine → released (QA, signed) / rejected (QA, signed); expired from its expiry on, by
the clock alone; drawn down by the batches that use it.

Use is refused (422 ``MaterialUseRefused``, which the application records as a refused
scan in the batch's record) unless the lot is of the material asked for, at the batch's
site, released, not expired at the time of use, and has the quantity left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError, NotFound

from .checks import check_identifier
from .events import Operator
from .material_events import (
    MaterialDefined,
    MaterialLotConsumed,
    MaterialLotReceived,
    MaterialLotRejected,
    MaterialLotReleased,
)
from .material_units import as_float, check_quantity, check_unit, compatible, convert
from .verification import SeparationOfDuties

STREAM_PREFIX = "matlot-"


class MaterialLotStatus(StrEnum):
    """As recorded; ``expired`` is not a recorded status but the clock's (``state_at``)."""

    QUARANTINE = "quarantine"
    RELEASED = "released"
    REJECTED = "rejected"
    EXPIRED = "expired"


class MaterialUseRefused(DomainError):
    """A lot may not be used as asked (422): the reason's code and the field it concerns.
    The application records it as a refused scan of the batch before answering."""


@dataclass(frozen=True)
class Receipt:
    """What the materials handler enters for a lot that arrived."""

    site: str
    supplier: str
    supplier_lot: str
    quantity: float
    unit: str
    expires_at: datetime
    certificate_ref: str


class MaterialLot(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.received: MaterialLotReceived | None = None
        self.status = MaterialLotStatus.QUARANTINE
        self.remaining = Decimal(0)
        self.released: MaterialLotReleased | None = None
        self.rejected: MaterialLotRejected | None = None

    @staticmethod
    def stream_for(lot_id: str) -> str:
        check_identifier("lot_id", lot_id)
        return f"{STREAM_PREFIX}{lot_id}"

    @property
    def lot_id(self) -> str:
        return self.id.removeprefix(STREAM_PREFIX)

    @classmethod
    def receive(
        cls,
        lot_id: str,
        material: MaterialDefined,
        receipt: Receipt,
        *,
        received_at: datetime,
        received_by: Operator,
    ) -> MaterialLot:
        """A lot of a defined material, in quarantine; its quantity in a unit of the
        material's dimension, its expiry after now."""
        for name in ("site", "supplier", "supplier_lot", "certificate_ref"):
            check_identifier(name, getattr(receipt, name))
        check_quantity(receipt.quantity)
        check_unit(receipt.unit)
        if not compatible(receipt.unit, material.unit):
            raise DomainError(
                "unit-incompatible",
                f"unit {receipt.unit!r} does not measure {material.material_code}, counted "
                f"in {material.unit!r}",
                field="unit",
                expected_unit=material.unit,
            )
        if receipt.expires_at <= received_at:
            raise DomainError(
                "material-lot-expired-at-receipt",
                f"expires_at {receipt.expires_at.isoformat()} is not after the receipt",
                field="expires_at",
            )
        lot = cls(cls.stream_for(lot_id))
        lot._record(
            MaterialLotReceived(
                lot_id=lot_id,
                material_code=material.material_code,
                material_type=material.material_type,
                storage_condition=material.storage_condition,
                site=receipt.site,
                supplier=receipt.supplier,
                supplier_lot=receipt.supplier_lot,
                quantity=receipt.quantity,
                unit=receipt.unit,
                expires_at=receipt.expires_at,
                certificate_ref=receipt.certificate_ref,
                received_at=received_at,
                received_by=received_by,
            )
        )
        return lot

    # --- QA disposition -------------------------------------------------------------------

    def check_release(self, at: datetime) -> None:
        """Refused before anyone signs: only a lot in quarantine, not expired, is released."""
        got = self._got()
        if self.status is not MaterialLotStatus.QUARANTINE:
            raise Conflict(
                "material-lot-not-in-quarantine",
                f"material lot {self.lot_id} is {self.status.value}: only a lot in quarantine "
                "is released",
                lot_status=self.status.value,
            )
        if at >= got.expires_at:
            raise Conflict(
                "material-lot-expired",
                f"material lot {self.lot_id} expired at {got.expires_at.isoformat()}",
            )

    def release(
        self, *, by: Operator, at: datetime, signature_id: str, note: str | None = None
    ) -> None:
        """QA releases the lot as they signed it; never the person who received it."""
        self.check_release(at)
        got = self._got()
        if by.user_id == got.received_by.user_id:
            raise SeparationOfDuties(
                "release-by-receiver",
                f"{by.user_id!r} received material lot {self.lot_id}: another person releases it",
            )
        self._record(
            MaterialLotReleased(
                released_at=at, released_by=by, signature_id=signature_id, note=note
            )
        )

    def check_rejection(self, reason: str) -> None:
        self._got()
        if self.status is MaterialLotStatus.REJECTED:
            raise Conflict(
                "material-lot-already-rejected", f"material lot {self.lot_id} is rejected"
            )
        if not reason.strip():
            raise DomainError(
                "rejection-reason-required", "a rejection states its reason", field="reason"
            )

    def reject(self, *, reason: str, by: Operator, at: datetime, signature_id: str) -> None:
        """QA rejects the lot, in quarantine or released (e.g. a supplier's recall)."""
        self.check_rejection(reason)
        self._record(
            MaterialLotRejected(
                reason=reason, rejected_at=at, rejected_by=by, signature_id=signature_id
            )
        )

    # --- use ------------------------------------------------------------------------------

    def state_at(self, at: datetime) -> MaterialLotStatus:
        """The status at ``at``: a lot not rejected is expired from its expiry on."""
        got = self._got()
        if self.status is not MaterialLotStatus.REJECTED and at >= got.expires_at:
            return MaterialLotStatus.EXPIRED
        return self.status

    def check_use(
        self,
        material_code: str,
        quantity: float,
        unit: str,
        at: datetime,
        site: str,
        *,
        reserved: Decimal = Decimal(0),
    ) -> Decimal:
        """The quantity in the lot's unit, if the lot may be used so at ``at`` at ``site``
        (besides ``reserved``, the lot's unit, for other uses of the same act); otherwise
        ``MaterialUseRefused`` naming the reason and the field."""
        got = self._got()
        lot = self.lot_id
        if got.material_code != material_code:
            raise self._refused(
                "wrong-material",
                f"material lot {lot} is {got.material_code}, not {material_code}",
                "lot_id",
                material_code=got.material_code,
            )
        if got.site != site:
            raise self._refused(
                "material-lot-at-another-site",
                f"material lot {lot} is held at {got.site}, not {site}",
                "lot_id",
            )
        state = self.state_at(at)
        if state is not MaterialLotStatus.RELEASED:
            detail = {
                MaterialLotStatus.QUARANTINE: "is in quarantine: QA has not released it",
                MaterialLotStatus.REJECTED: "was rejected by QA",
                MaterialLotStatus.EXPIRED: f"expired at {got.expires_at.isoformat()}",
            }[state]
            raise self._refused(f"material-lot-{state.value}", f"material lot {lot} {detail}")
        needed = convert(check_quantity(quantity), unit, got.unit)
        left = self.remaining - reserved
        if needed > left:
            raise self._refused(
                "material-lot-insufficient",
                f"material lot {lot} has {as_float(left):g} {got.unit} left, not "
                f"{quantity:g} {unit}",
                "quantity",
                remaining=as_float(left),
                remaining_unit=got.unit,
            )
        return needed

    def consume(
        self,
        *,
        batch_id: str,
        step: str,
        material_code: str,
        quantity: float,
        unit: str,
        at: datetime,
        site: str,
    ) -> Decimal:
        """Draw ``quantity`` ``unit`` for ``step`` of ``batch_id`` (checked as
        ``check_use``); the quantity in the lot's unit."""
        needed = self.check_use(material_code, quantity, unit, at, site)
        self._record(
            MaterialLotConsumed(
                batch_id=batch_id,
                step=step,
                quantity=as_float(needed),
                remaining=as_float(self.remaining - needed),
                used_at=at,
            )
        )
        return needed

    def _refused(
        self, code: str, detail: str, field: str = "lot_id", **extra: Any
    ) -> MaterialUseRefused:
        return MaterialUseRefused(code, detail, field=field, lot_id=self.lot_id, **extra)

    def _got(self) -> MaterialLotReceived:
        if self.received is None:
            raise NotFound("material-lot-not-found", f"no material lot {self.lot_id!r}")
        return self.received

    def apply(self, event: DomainEvent) -> None:
        match event:
            case MaterialLotReceived():
                self.received = event
                self.remaining = Decimal(str(event.quantity))
            case MaterialLotReleased():
                self.status = MaterialLotStatus.RELEASED
                self.released = event
            case MaterialLotRejected():
                self.status = MaterialLotStatus.REJECTED
                self.rejected = event
            case MaterialLotConsumed():
                self.remaining -= Decimal(str(event.quantity))
            case _:
                raise TypeError(f"a material lot does not apply {type(event).__name__}")
