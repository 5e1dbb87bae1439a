"""Unit: one bag (apheresis or final product), its custody transfers and receipt checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError
from v2v_runtime.holds import ActiveHold, describe
from v2v_runtime.windows import ReportedTimeWindow

from .events import (
    CustodyTransferred,
    LocationKind,
    LotDisposition,
    ReceiptRefused,
    RefusalReason,
    ThawRefusalReason,
    ThawRefused,
    UnitInfused,
    UnitKind,
    UnitReceived,
    UnitRegistered,
    UnitRejected,
    UnitStatus,
    UnitThawed,
)
from .isbt128 import Din
from .lot_release import LotRelease
from .receipts import Accepted, Receipt, ReceiptDecision, ReceiptScan, Refused, refusal_of
from .thaw import ThawDecision, Thawed, ThawRequest, ThawWasRefused, thaw_outcome


class Unit(Aggregate):
    """Stream id = unit id. Apheresis units carry a DIN; final-product units a lot id."""

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.kind = UnitKind.APHERESIS
        self.coi = ""
        self.din: str | None = None
        self.din_check: str | None = None
        self.lot_id: str | None = None
        self.status = UnitStatus.REGISTERED
        self.custodian = ""
        self.location = ""
        self.expected_destination = ""
        self.expected_location_kind = LocationKind.MANUFACTURING_SITE
        self.receipt: Receipt | None = None
        self.rejected_reason: str | None = None
        self.infusion_id: str | None = None
        self.thaw: UnitThawed | None = None

    # --- registration ----------------------------------------------------------------

    @classmethod
    def register_apheresis(
        cls,
        unit_id: str,
        coi: str,
        din: Din,
        apheresis_center: str,
        manufacturing_site: str,
        now: datetime,
    ) -> Unit:
        """A collected apheresis bag, held by the apheresis center, bound for manufacturing."""
        unit = cls(unit_id)
        unit._record(
            UnitRegistered(
                unit_id=unit_id,
                unit_kind=UnitKind.APHERESIS,
                coi=coi,
                din=din.number,
                din_check=din.check,
                location=apheresis_center,
                custodian=apheresis_center,
                expected_destination=manufacturing_site,
                expected_location_kind=LocationKind.MANUFACTURING_SITE,
                registered_at=now,
            )
        )
        return unit

    @classmethod
    def register_final_product(
        cls,
        unit_id: str,
        coi: str,
        lot_id: str,
        manufacturing_site: str,
        treatment_center: str,
        expires_at: datetime | None,
        now: datetime,
    ) -> Unit:
        """A final-product bag of a lot, held by the manufacturing site, bound for the
        patient's treatment center."""
        unit = cls(unit_id)
        unit._record(
            UnitRegistered(
                unit_id=unit_id,
                unit_kind=UnitKind.FINAL_PRODUCT,
                coi=coi,
                lot_id=lot_id,
                location=manufacturing_site,
                custodian=manufacturing_site,
                expected_destination=treatment_center,
                expected_location_kind=LocationKind.TREATMENT_CENTER,
                expires_at=expires_at,
                registered_at=now,
            )
        )
        return unit

    # --- custody ---------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self.status is UnitStatus.REJECTED:
            raise Conflict("unit-rejected", f"unit {self.id!r} is rejected", unit_id=self.id)
        if self.status is UnitStatus.INFUSED:
            raise Conflict("unit-infused", f"unit {self.id!r} was infused", unit_id=self.id)

    def transfer(
        self,
        transfer_id: str,
        from_party: str,
        to_party: str,
        location: str,
        temperature_c: float | None,
        now: datetime,
    ) -> CustodyTransferred:
        """A hand-off: only the party holding the unit can hand it on."""
        self._check_usable()
        if from_party != self.custodian:
            raise DomainError(
                "custody-chain-broken",
                f"unit {self.id!r} is held by {self.custodian!r}, not {from_party!r}",
                unit_id=self.id,
                custodian=self.custodian,
            )
        if to_party == from_party:
            raise DomainError("transfer-to-self", "a transfer needs two different parties")
        event = CustodyTransferred(
            transfer_id=transfer_id,
            from_party=from_party,
            to_party=to_party,
            location=location,
            temperature_c=temperature_c,
            transferred_at=now,
        )
        self._record(event)
        return event

    def scan_for_receipt(
        self, scan: ReceiptScan, transfer_id: str, now: datetime
    ) -> ReceiptDecision:
        """Check a receipt scan against the expected journey; record the receipt or the
        refusal. A repeat scan at the site that already received the unit changes nothing."""
        refusal = self._mismatch(scan)
        if refusal is not None:
            code, reason = refusal
            event = refusal_of(scan, self.coi, code, reason, now)
            self._record(event)
            return Refused(event)
        if (
            self.receipt is not None
            and self.status is UnitStatus.RECEIVED
            and self.receipt.location == scan.location == self.location
        ):
            return Accepted(self.receipt, new=False)
        self._record(
            UnitReceived(
                transfer_id=transfer_id,
                from_party=self.custodian,
                location=scan.location,
                location_kind=scan.location_kind,
                scanned_coi=scan.scanned_coi,
                scanned_din=scan.scanned_din,
                temperature_c=scan.temperature_c,
                minutes_out_of_storage=scan.minutes_out_of_storage,
                received_at=now,
            )
        )
        assert self.receipt is not None
        return Accepted(self.receipt, new=True)

    def _mismatch(self, scan: ReceiptScan) -> tuple[RefusalReason, str] | None:
        if scan.scanned_coi != self.coi:
            return (
                RefusalReason.COI_MISMATCH,
                "the chain-of-identity id on the label does not match the unit",
            )
        if self.kind is UnitKind.APHERESIS and scan.scanned_din != self.din:
            what = "no DIN was scanned" if scan.scanned_din is None else "the DIN does not match"
            return RefusalReason.DIN_MISMATCH, f"{what} (apheresis unit)"
        if self.status is UnitStatus.REJECTED:
            return RefusalReason.UNIT_REJECTED, "the unit is rejected"
        if self.status is UnitStatus.INFUSED:
            return RefusalReason.UNIT_INFUSED, "the unit was already infused"
        if (
            scan.location != self.expected_destination
            or scan.location_kind is not self.expected_location_kind
        ):
            return (
                RefusalReason.LOCATION_MISMATCH,
                f"the unit is expected at {self.expected_location_kind.value} "
                f"{self.expected_destination!r}, not {scan.location_kind.value} {scan.location!r}",
            )
        return None

    # --- usability and thaw --------------------------------------------------------------

    def why_not_usable(
        self, release: LotRelease | None, holds: Sequence[ActiveHold] = ()
    ) -> tuple[ThawRefusalReason, str] | None:
        """Why this unit may not be used for its patient now, given its lot's release and
        the holds on it or its lot as custody knows them (None: it may). The one place that
        says so."""
        if self.status is UnitStatus.INFUSED:
            return ThawRefusalReason.INFUSED, f"unit {self.id!r} was infused"
        if self.status is UnitStatus.REJECTED:
            why = f": {self.rejected_reason}" if self.rejected_reason else ""
            return ThawRefusalReason.REJECTED, f"unit {self.id!r} is rejected{why}"
        if holds:
            return ThawRefusalReason.HELD, f"unit {self.id!r} is held: {describe(list(holds))}"
        if release is not None and release.disposition is LotDisposition.RELEASE_REJECTED:
            return (
                ThawRefusalReason.REJECTED,
                f"QA rejected the release of lot {self.lot_id}: {release.reason}",
            )
        if release is None or not release.released_for(self.coi):
            return (
                ThawRefusalReason.NOT_RELEASED,
                f"lot {self.lot_id} of unit {self.id!r} is not released by QA",
            )
        return None

    def held_at_treatment_center(self, treatment_center: str) -> bool:
        """Received at ``treatment_center`` and held there."""
        return (
            self.status is UnitStatus.RECEIVED
            and self.receipt is not None
            and self.receipt.location_kind is LocationKind.TREATMENT_CENTER
            and self.location == treatment_center
        )

    def start_thaw(
        self,
        request: ThawRequest,
        release: LotRelease | None,
        window: ReportedTimeWindow,
        now: datetime,
        holds: Sequence[ActiveHold] = (),
    ) -> ThawDecision:
        """Record the thaw's start, or refuse it and keep the refusal (rules: domain/thaw.py)."""
        outcome = thaw_outcome(self, request, release, window, now, holds)
        if outcome is None:  # the same thaw reported again
            assert self.thaw is not None
            return Thawed(self.thaw, new=False)
        self._record(outcome)
        if isinstance(outcome, ThawRefused):
            held = outcome.reason_code is ThawRefusalReason.HELD
            return ThawWasRefused(outcome, tuple(holds) if held else ())
        return Thawed(outcome, new=True)

    def reject(self, reason: str, now: datetime) -> bool:
        """Mark the unit unusable. Already rejected or infused: nothing changes (False)."""
        if self.status in (UnitStatus.REJECTED, UnitStatus.INFUSED):
            return False
        self._record(UnitRejected(reason=reason, rejected_at=now))
        return True

    def mark_infused(self, infusion_id: str, treatment_center: str, infused_at: datetime) -> None:
        self._check_usable()
        if not self.held_at_treatment_center(treatment_center):
            raise DomainError(
                "unit-not-at-treatment-center",
                f"unit {self.id!r} has not been received at {treatment_center!r}",
                unit_id=self.id,
            )
        self._record(
            UnitInfused(
                infusion_id=infusion_id, treatment_center=treatment_center, infused_at=infused_at
            )
        )

    # --- state -----------------------------------------------------------------------

    def apply(self, event: DomainEvent) -> None:
        match event:
            case UnitRegistered():
                self.kind = event.unit_kind
                self.coi = event.coi
                self.din = event.din
                self.din_check = event.din_check
                self.lot_id = event.lot_id
                self.status = UnitStatus.REGISTERED
                self.custodian = event.custodian
                self.location = event.location
                self.expected_destination = event.expected_destination
                self.expected_location_kind = event.expected_location_kind
            case CustodyTransferred():
                stays = self.status is UnitStatus.RECEIVED and event.location == self.location
                self.status = UnitStatus.RECEIVED if stays else UnitStatus.IN_TRANSIT
                self.custodian = event.to_party
                self.location = event.location
            case UnitReceived():
                self.receipt = Receipt(
                    transfer_id=event.transfer_id,
                    unit_id=self.id,
                    coi=self.coi,
                    unit_kind=self.kind,
                    din=self.din,
                    from_party=event.from_party,
                    location=event.location,
                    location_kind=event.location_kind,
                    scanned_coi=event.scanned_coi,
                    scanned_din=event.scanned_din,
                    temperature_c=event.temperature_c,
                    minutes_out_of_storage=event.minutes_out_of_storage,
                    received_at=event.received_at,
                )
                self.status = UnitStatus.RECEIVED
                self.custodian = event.location
                self.location = event.location
            case ReceiptRefused() | ThawRefused():
                pass  # recorded evidence; the unit's state does not change
            case UnitThawed():
                self.thaw = event
            case UnitRejected():
                self.status = UnitStatus.REJECTED
                self.rejected_reason = event.reason
            case UnitInfused():
                self.status = UnitStatus.INFUSED
                self.infusion_id = event.infusion_id
            case _:
                raise TypeError(f"Unit cannot apply {type(event).__name__}")
