"""The Batch aggregate: one manufacturing run from one apheresis unit to one final lot."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum

from v2v_runtime.domain import DomainEvent
from v2v_runtime.errors import Conflict, DomainError, NotFound

from .checks import check_identifier, check_viability
from .events import (
    STEP_ORDER,
    BatchOpened,
    LotProduced,
    LotRejected,
    ManufacturingFailed,
    Operator,
    Source,
    Step,
    StepRecorded,
    StepVerified,
)
from .execution import no_mbr_steps
from .freezer_runs import RecordsFreezerRuns
from .lot import Lot, LotStatus
from .mbr_content import MbrContent
from .product import ProductSpec
from .steps import StepRecord, StepValues, check_order, checked_step
from .verification import check_verifier, require_verified, unverified, verifiable


class BatchStatus(StrEnum):
    OPEN = "open"  # no step recorded yet
    IN_PROCESS = "in-process"
    LOT_PRODUCED = "lot-produced"  # the lot is in quarantine until QA release (QC's business)
    MANUFACTURING_FAILED = "manufacturing-failed"  # QA disposes of the lot in QC
    LOT_REJECTED = "lot-rejected"  # old records only


class Batch(RecordsFreezerRuns):
    """Its steps are the fixed process steps, or those of the MBR version it pinned when it
    opened (``ExecutesMbr``, ``ReviewsMbrRecord``, with its freezer runs:
    ``RecordsFreezerRuns``)."""

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.coi = ""
        self.manufacturing_site = ""
        self.source = Source.FRESH_APHERESIS
        self.apheresis_unit_id = ""
        self.din = ""
        self.attempt = 1
        self.product_code: str | None = None
        self.spec: ProductSpec | None = None
        self.previous_lot_id: str | None = None
        self.opened_at: datetime | None = None
        self.opened_by: Operator | None = None
        self.steps: dict[Step, StepRecord] = {}
        self.lot: Lot | None = None

    # --- commands -----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        batch_id: str,
        *,
        coi: str,
        manufacturing_site: str,
        source: Source,
        apheresis_unit_id: str,
        din: str,
        attempt: int,
        product_code: str | None,
        spec: ProductSpec,
        opened_at: datetime,
        opened_by: Operator,
        previous_lot_id: str | None = None,
    ) -> Batch:
        for name, value in (
            ("coi", coi),
            ("manufacturing_site", manufacturing_site),
            ("apheresis_unit_id", apheresis_unit_id),
            ("din", din),
        ):
            check_identifier(name, value)
        if attempt < 1:
            raise DomainError("invalid-attempt", "attempt starts at 1")
        if (source is Source.RETAINED_APHERESIS) != (previous_lot_id is not None):
            raise DomainError(
                "invalid-source",
                "a batch from retained apheresis material names the previous lot, "
                "and only such a batch does",
            )
        batch = cls(batch_id)
        batch._record(
            BatchOpened(
                coi=coi,
                manufacturing_site=manufacturing_site,
                source=source,
                apheresis_unit_id=apheresis_unit_id,
                din=din,
                attempt=attempt,
                product_code=product_code,
                spec=spec,
                previous_lot_id=previous_lot_id,
                opened_at=opened_at,
                opened_by=opened_by,
            )
        )
        return batch

    def check_step(self, values: StepValues, *, recorded_at: datetime) -> None:
        """Refuse now what ``record_step`` would refuse (order, values), recording nothing:
        the performer is told before signing."""
        self._step_event(values, recorded_at=recorded_at)

    def record_step(
        self,
        values: StepValues,
        *,
        recorded_at: datetime,
        performed_by: Operator,
        signature_id: str,
        late: bool = False,
    ) -> StepRecord:
        """The step as ``performed_by`` signed it (``signature_id``, meaning performed).
        ``late``: recorded more than the configured gap after the step ended."""
        self._record(
            self._step_event(
                values,
                recorded_at=recorded_at,
                late=late,
                performed_by=performed_by,
                signature_id=signature_id,
            )
        )
        return self.steps[values.step]

    def _step_event(
        self,
        values: StepValues,
        *,
        recorded_at: datetime,
        late: bool = False,
        performed_by: Operator | None = None,
        signature_id: str | None = None,
    ) -> StepRecorded:
        spec = self._spec()
        step = values.step
        if self.pinned is not None:
            raise no_mbr_steps(self.id)
        if self.lot is not None:
            raise Conflict(
                "lot-already-produced",
                f"batch {self.id} has produced lot {self.lot.lot_id}: no step can be added",
                lot_id=self.lot.lot_id,
            )
        check_order(self.id, step, self.steps, self.next_step)
        return checked_step(
            values,
            source=self.source,
            spec=spec,
            recorded_at=recorded_at,
            late=late,
            performed_by=performed_by,
            signature_id=signature_id,
        )

    def check_verification(self, step: Step) -> StepRecord:
        """The recorded step a second person may verify now (refused before signing)."""
        self._spec()
        if self.lot is not None:
            raise Conflict(
                "lot-already-produced",
                f"batch {self.id} has produced lot {self.lot.lot_id}: its record is closed",
                lot_id=self.lot.lot_id,
            )
        return verifiable(self.id, step, self.steps.get(step))

    def verify_step(
        self, step: Step, *, verifier: Operator, verified_at: datetime, signature_id: str
    ) -> StepRecord:
        """A second person verifies ``step`` as they signed it (meaning verified); never
        its performer."""
        record = self.check_verification(step)
        check_verifier(self.id, record, verifier)
        self._record(
            StepVerified(
                step=step, verified_by=verifier, verified_at=verified_at, signature_id=signature_id
            )
        )
        return self.steps[step]

    def produce_lot(
        self,
        *,
        new_id: Callable[[], str],
        bag_count: int,
        total_viable_cells: float,
        viability_pct: float,
        retained_aliquots_remaining: int,
        mbr: MbrContent | None = None,
    ) -> Lot:
        """The lot exists once cryopreservation has ended: produced_at is that moment and
        the lot expires the configured shelf life later."""
        spec = self._spec()
        if self.lot is not None:
            raise Conflict(
                "lot-already-produced",
                f"batch {self.id} already produced lot {self.lot.lot_id}",
                lot_id=self.lot.lot_id,
            )
        if self.pinned is not None:  # the end of the MBR's last step
            assert mbr is not None, "a batch that pinned an MBR is checked against it"
            ended_at = self.require_mbr_complete(mbr)
        else:
            cryo = self.steps.get(Step.CRYOPRESERVATION)
            if cryo is None:
                raise Conflict(
                    "cryopreservation-not-recorded",
                    "the lot is produced after the cryopreservation step",
                )
            require_verified(self.id, self.unverified_steps, f"{spec.entry} {spec.config_version}")
            ended_at = cryo.ended_at
        if not 1 <= bag_count <= spec.max_bags_per_lot:
            raise DomainError(
                "bag-count-out-of-range",
                f"bag_count must be 1 to {spec.max_bags_per_lot} "
                f"(configuration {spec.entry} {spec.config_version})",
            )
        if not (math.isfinite(total_viable_cells) and total_viable_cells > 0):
            raise DomainError("total-viable-cells-invalid", "total_viable_cells must be > 0")
        check_viability(viability_pct, "viability_pct")
        if retained_aliquots_remaining < 0:
            raise ValueError("retained_aliquots_remaining cannot be negative")
        lot_id = new_id()
        bag_ids = tuple(new_id() for _ in range(bag_count))
        self._record(
            LotProduced(
                lot_id=lot_id,
                bag_ids=bag_ids,
                total_viable_cells=total_viable_cells,
                viability_pct=viability_pct,
                produced_at=ended_at,
                expires_at=ended_at + timedelta(days=spec.lot_shelf_life_days),
                retained_aliquots_remaining=retained_aliquots_remaining,
            )
        )
        assert self.lot is not None
        return self.lot

    def record_manufacturing_failure(
        self, lot_id: str, *, reason: str, deviation_id: str | None, failed_at: datetime
    ) -> bool:
        """Record that manufacturing found the lot failed (it will not come); False (and
        nothing recorded) if that is recorded already, or the lot was rejected before
        issue 16. Not a disposition: QA disposes of the lot in QC."""
        lot = self.lot
        if lot is None or lot.lot_id != lot_id:
            raise NotFound("lot-not-found", f"batch {self.id} has no lot {lot_id!r}")
        if lot.status is not LotStatus.QUARANTINED:
            return False
        if not reason.strip():
            raise DomainError(
                "failure-reason-required", "a manufacturing failure states its reason"
            )
        self._record(
            ManufacturingFailed(
                lot_id=lot_id, reason=reason, deviation_id=deviation_id, failed_at=failed_at
            )
        )
        return True

    # --- state --------------------------------------------------------------------------

    @property
    def next_step(self) -> Step | None:
        """The step to record next, or None once cryopreservation is recorded."""
        done = len(self.steps)
        return STEP_ORDER[done] if done < len(STEP_ORDER) else None

    @property
    def steps_done(self) -> list[Step]:
        return [s for s in STEP_ORDER if s in self.steps]

    @property
    def unverified_steps(self) -> list[Step]:
        """Recorded steps the batch's configuration has verified that are not verified yet."""
        return unverified(self.spec.verified_steps if self.spec else (), self.steps)

    @property
    def status(self) -> BatchStatus:
        if self.lot is not None:
            if self.lot.status is LotStatus.MANUFACTURING_FAILED:
                return BatchStatus.MANUFACTURING_FAILED
            if self.lot.status is LotStatus.REJECTED:
                return BatchStatus.LOT_REJECTED
            return BatchStatus.LOT_PRODUCED
        return BatchStatus.IN_PROCESS if self.steps else BatchStatus.OPEN

    def _spec(self) -> ProductSpec:
        if self.spec is None:
            raise NotFound("batch-not-found", f"no batch {self.id!r}")
        return self.spec

    def apply(self, event: DomainEvent) -> None:
        match event:
            case BatchOpened():
                self.coi = event.coi
                self.manufacturing_site = event.manufacturing_site
                self.source = event.source
                self.apheresis_unit_id = event.apheresis_unit_id
                self.din = event.din
                self.attempt = event.attempt
                self.product_code = event.product_code
                self.spec = event.spec
                self.previous_lot_id = event.previous_lot_id
                self.opened_at = event.opened_at
                self.opened_by = event.opened_by
            case StepRecorded():
                self.steps[event.step] = StepRecord(
                    step=event.step,
                    equipment_id=event.equipment_id,
                    started_at=event.started_at,
                    ended_at=event.ended_at,
                    viable_cell_count=event.viable_cell_count,
                    viability_pct=event.viability_pct,
                    retained_aliquots=event.retained_aliquots,
                    flags=event.flags,
                    recorded_at=event.recorded_at,
                    late=event.late,
                    performed_by=event.performed_by,
                    signature_id=event.signature_id,
                )
            case StepVerified():
                self.steps[event.step] = replace(
                    self.steps[event.step],
                    verified_by=event.verified_by,
                    verified_at=event.verified_at,
                    verification_signature_id=event.signature_id,
                )
            case LotProduced():
                self.lot = Lot(
                    lot_id=event.lot_id,
                    bag_ids=event.bag_ids,
                    total_viable_cells=event.total_viable_cells,
                    viability_pct=event.viability_pct,
                    produced_at=event.produced_at,
                    expires_at=event.expires_at,
                    retained_aliquots_remaining=event.retained_aliquots_remaining,
                )
            case LotRejected():
                assert self.lot is not None
                self.lot.status = LotStatus.REJECTED
                self.lot.rejected_at = event.rejected_at
                self.lot.rejection_reason = event.reason
                self.lot.deviation_id = event.deviation_id
            case ManufacturingFailed():
                assert self.lot is not None
                self.lot.status = LotStatus.MANUFACTURING_FAILED
                self.lot.failed_at = event.failed_at
                self.lot.failure_reason = event.reason
                self.lot.deviation_id = event.deviation_id
            case _:
                if not self.apply_execution(event):
                    raise TypeError(f"a batch does not apply {type(event).__name__}")


__all__ = ["Batch", "BatchStatus", "Lot", "LotStatus"]
