"""Custody's domain events -> its public contracts (libs/events). Chain-of-identity ids
only: no field of a patient's identity goes into a message."""

from __future__ import annotations

from datetime import datetime

from v2v_events.bounds import MINUTES_MAX
from v2v_events.contracts import custody as contracts
from v2v_events.contracts.common import Actor

from ..domain import events
from ..domain.isbt128 import Din
from ..domain.receipts import Receipt


def patient_enrolled(enrolled: events.PatientEnrolled, actor: Actor) -> contracts.PatientEnrolled:
    return contracts.PatientEnrolled(
        coi=enrolled.coi,
        therapy=enrolled.therapy,
        product_code=enrolled.product_code,
        autologous=enrolled.autologous,
        treatment_center=enrolled.treatment_center,
        apheresis_center=enrolled.apheresis_center,
        manufacturing_site=enrolled.manufacturing_site,
        patient_weight_kg=enrolled.patient_weight_kg,
        earliest_collection=enrolled.earliest_collection,
        enrolled_at=enrolled.enrolled_at,
        actor=actor,
    )


def collection_recorded(
    coi: str, din: Din, unit_id: str, event: events.CollectionRecorded, actor: Actor
) -> contracts.CollectionRecorded:
    return contracts.CollectionRecorded(
        coi=coi,
        din=din.number,
        din_check=din.check,
        unit_id=unit_id,
        apheresis_center=event.apheresis_center,
        volume_ml=event.volume_ml,
        total_nucleated_cells=event.total_nucleated_cells,
        collection_started_at=event.collection_started_at,
        collection_ended_at=event.collection_ended_at,
        actor=actor,
    )


def custody_transferred(
    coi: str, unit_id: str, event: events.CustodyTransferred, actor: Actor
) -> contracts.CustodyTransferred:
    return contracts.CustodyTransferred(
        coi=coi,
        transfer_id=event.transfer_id,
        unit_id=unit_id,
        from_party=event.from_party,
        to_party=event.to_party,
        location=event.location,
        temperature_c=event.temperature_c,
        transferred_at=event.transferred_at,
        actor=actor,
    )


def unit_received(receipt: Receipt, actor: Actor) -> contracts.UnitReceived:
    return contracts.UnitReceived(
        coi=receipt.coi,
        unit_id=receipt.unit_id,
        unit_kind=contracts.UnitKind(receipt.unit_kind.value),
        din=receipt.din,
        location=receipt.location,
        location_kind=contracts.LocationKind(receipt.location_kind.value),
        received_at=receipt.received_at,
        temperature_c=receipt.temperature_c,
        minutes_out_of_storage=receipt.minutes_out_of_storage,
        transfer_id=receipt.transfer_id,
        actor=actor,
    )


def receipt_refused(
    coi: str, event: events.ReceiptRefused, actor: Actor
) -> contracts.ReceiptRefused:
    """Under ``coi``: the unit's, or the one the label claims for an unknown unit."""
    return contracts.ReceiptRefused(
        coi=coi,
        unit_id=event.unit_id,
        scanned_coi=event.scanned_coi,
        scanned_din=event.scanned_din,
        location=event.location,
        reason=f"{event.reason_code.value}: {event.reason}",
        refused_at=event.refused_at,
        actor=actor,
    )


def units_registered(
    coi: str, lot_id: str, unit_ids: list[str], location: str
) -> contracts.UnitsRegistered:
    return contracts.UnitsRegistered(coi=coi, lot_id=lot_id, unit_ids=unit_ids, location=location)


def unit_rejected(
    coi: str, unit_id: str, reason: str, rejected_at: datetime, actor: Actor
) -> contracts.UnitRejected:
    return contracts.UnitRejected(
        coi=coi, unit_id=unit_id, reason=reason, rejected_at=rejected_at, actor=actor
    )


def unit_thawed(
    coi: str, unit_id: str, lot_id: str, event: events.UnitThawed, actor: Actor
) -> contracts.UnitThawed:
    return contracts.UnitThawed(
        coi=coi,
        unit_id=unit_id,
        lot_id=lot_id,
        treatment_center=event.treatment_center,
        thaw_started_at=event.thaw_started_at,
        actor=actor,
    )


def infusion_recorded(
    coi: str, event: events.InfusionRecorded, lot_ids: list[str], actor: Actor
) -> contracts.InfusionRecorded:
    return contracts.InfusionRecorded(
        coi=coi,
        infusion_id=event.infusion_id,
        unit_ids=event.unit_ids,
        lot_ids=lot_ids,
        treatment_center=event.treatment_center,
        thawed_at=event.thawed_at,
        infused_at=event.infused_at,
        # the record keeps the exact minutes; the message's are bounded (about two years)
        thaw_to_infusion_minutes=min(event.thaw_to_infusion_minutes, MINUTES_MAX),
        thaw_to_infusion_limit_minutes=min(event.thaw_to_infusion_limit_minutes, MINUTES_MAX),
        flags=event.flags,
        actor=actor,
    )
