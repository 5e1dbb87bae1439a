"""Inbox handlers: OrderPanel and PlaceHold (v2v.qc.commands: a hold the journey's
compensation asks for, application/holds.py); BatchOpened, StepRecorded and LotProduced
(v2v.batch.events: the lot, and the patient's retained material); MbrStepRecorded and
BatchRecordReviewed (v2v.batch.events: a batch executed from its MBR, and QA's review of its
record, which that batch's lot's release waits for); ManufacturingFailed (the
lot withdrawn and held) and the old LotRejected (withdrawn),
BatchExceptionRaised, EquipmentOutOfTolerance, EnvironmentActionLimitExceeded and
MaterialLotRejected (v2v.batch.events: a deviation each, the last when batches had used the
lot); PatientEnrolled (v2v.custody.events: the patient's treatment center, which an
exceptional release's physician request must come from); ReceiptRefused and a late
InfusionRecorded (v2v.custody.events; an infusion also starts an
exceptional release's authority notification clock), ShipmentDelivered with
an excursion (v2v.logistics.events) and a missed GMP deadline's TreatmentCenterNotified
(v2v.journey.events): a deviation each (an overdue recovery decision: an acknowledged
notification to the people who take it); ChangeControlImplemented (v2v.batch.events: batch
acted on a change control); the audit-trail heads of batch and custody
(v2v.batch.events, v2v.custody.events). The inbox sets the unit of work's lineage from each
message."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from v2v_events.contracts.batch import (
    BatchExceptionRaised,
    BatchOpened,
    BatchRecordReviewed,
    LotProduced,
    LotRejected,
    ManufacturingFailed,
    MaterialLotRejected,
    MbrStepRecorded,
    StepRecorded,
)
from v2v_events.contracts.change_control import ChangeControlImplemented
from v2v_events.contracts.custody import InfusionRecorded, PatientEnrolled, ReceiptRefused
from v2v_events.contracts.environment import EnvironmentActionLimitExceeded
from v2v_events.contracts.equipment import EquipmentOutOfTolerance
from v2v_events.contracts.holds import PlaceHold
from v2v_events.contracts.journey import TreatmentCenterNotified
from v2v_events.contracts.logistics import ShipmentDelivered
from v2v_events.contracts.qc import OrderPanel
from v2v_events.contracts.trail import BatchTrailAdvanced, CustodyTrailAdvanced, TrailAdvanced
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract
from v2v_runtime.inbox import Handler
from v2v_runtime.uow import UnitOfWork

from ...application import conditional_release, exceptional_release
from ...application.batch_exceptions import open_for_exception
from ...application.batch_record import note_mbr_step, note_record_reviewed
from ...application.change_controls import note_implemented
from ...application.custody_mismatch import open_for_refused_receipt
from ...application.environment_deviation import open_environment_deviation
from ...application.equipment_deviation import open_equipment_deviation
from ...application.holds import hold_on_request
from ...application.late_infusion import open_for_late_infusion
from ...application.manufacturing_failed import note_manufacturing_failure
from ...application.material_out_of_status import open_for_rejected_material
from ...application.missed_deadline import open_for_missed_deadline
from ...application.order_panel import order_panel
from ...application.patient_center import note_enrolment
from ...application.recovery_overdue import notify_overdue_decision
from ...application.register_lot import register_lot
from ...application.retained_material import (
    note_batch_opened,
    note_lot_produced,
    note_step,
)
from ...application.review_trail import note_trail_head
from ...application.shipment_excursion import open_for_excursion
from ...domain.events import Classification
from ...domain.raising import RaisingPolicy
from ...domain.spec import SpecCatalog

log = logging.getLogger("v2v.qc.commands")


def handlers(
    specs: SpecCatalog,
    raising: RaisingPolicy,
    late_infusion: Classification = Classification.MAJOR,
) -> Mapping[type[Contract], Handler]:
    """``raising``: the classes of the deviations raised from other services' events;
    ``late_infusion``: the classification a late infusion's deviation opens with."""

    async def on_order_panel(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, OrderPanel)
        await order_panel(uow, message, specs)

    async def on_place_hold(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, PlaceHold)
        hold, placed = await hold_on_request(uow, message)
        if not placed and hold.released is not None:
            log.info(
                "hold requested on an item QA already released from it: not placed again",
                extra={"hold_id": hold.id, "coi": message.coi, "message_id": envelope.id},
            )

    async def on_lot_produced(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, LotProduced)
        await register_lot(uow, message)
        await note_lot_produced(uow, message)

    async def on_batch_opened(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, BatchOpened)
        await note_batch_opened(uow, message)

    async def on_step_recorded(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, StepRecorded)
        await note_step(uow, message)

    async def on_mbr_step(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, MbrStepRecorded)
        await note_mbr_step(uow, message)

    async def on_record_reviewed(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, BatchRecordReviewed)
        await note_record_reviewed(uow, message)

    async def on_manufacturing_failed(
        uow: UnitOfWork, envelope: Envelope, message: Contract
    ) -> None:
        assert isinstance(message, ManufacturingFailed | LotRejected)  # the latter: old
        await note_manufacturing_failure(uow, message)

    async def on_trail_advanced(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, TrailAdvanced)
        await note_trail_head(uow, message)

    async def on_out_of_tolerance(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, EquipmentOutOfTolerance)
        await open_equipment_deviation(uow, message)

    async def on_exception_raised(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, BatchExceptionRaised)
        await open_for_exception(uow, message)

    async def on_excursion(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, EnvironmentActionLimitExceeded)
        await open_environment_deviation(uow, message)

    async def on_infusion_recorded(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, InfusionRecorded)
        await open_for_late_infusion(uow, message, late_infusion)
        await conditional_release.note_infusion(uow, message)  # its failure holds no more
        await exceptional_release.note_infusion(uow, message)  # the authority's 48 h task

    async def on_enrolled(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, PatientEnrolled)
        await note_enrolment(uow, message)

    async def on_receipt_refused(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, ReceiptRefused)
        await open_for_refused_receipt(uow, message, raising)

    async def on_delivered(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, ShipmentDelivered)
        await open_for_excursion(uow, message, raising)

    async def on_material_rejected(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, MaterialLotRejected)
        await open_for_rejected_material(uow, message, raising)

    async def on_notified(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, TreatmentCenterNotified)
        await open_for_missed_deadline(uow, message, raising)
        await notify_overdue_decision(uow, message)

    async def on_change_implemented(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, ChangeControlImplemented)
        await note_implemented(uow, message)

    return {
        OrderPanel: on_order_panel,
        PlaceHold: on_place_hold,
        ChangeControlImplemented: on_change_implemented,
        LotProduced: on_lot_produced,
        BatchOpened: on_batch_opened,
        StepRecorded: on_step_recorded,
        MbrStepRecorded: on_mbr_step,
        BatchRecordReviewed: on_record_reviewed,
        LotRejected: on_manufacturing_failed,
        ManufacturingFailed: on_manufacturing_failed,
        BatchTrailAdvanced: on_trail_advanced,
        CustodyTrailAdvanced: on_trail_advanced,
        EquipmentOutOfTolerance: on_out_of_tolerance,
        BatchExceptionRaised: on_exception_raised,
        EnvironmentActionLimitExceeded: on_excursion,
        InfusionRecorded: on_infusion_recorded,
        ReceiptRefused: on_receipt_refused,
        PatientEnrolled: on_enrolled,
        ShipmentDelivered: on_delivered,
        MaterialLotRejected: on_material_rejected,
        TreatmentCenterNotified: on_notified,
    }
