"""The projector: keeps custody's read models current from domain events.

Deterministic from the stored events alone (no clock, no lookups outside the read
models), so a rebuild (``v2v rebuild custody``) reproduces the tables by replaying the
event store. ``CODEC`` names custody's stored events (``custody.<kind>``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.domain import DomainEvent
from v2v_runtime.eventstore import StoredEvent
from v2v_runtime.holds import HOLD_EVENTS, HoldKept, HoldLifted
from v2v_runtime.repository import EventCodec

from ...domain.events import (
    ALL_EVENTS,
    CollectionRecorded,
    CustodyTransferred,
    IdentityCorrected,
    IdentityRecorded,
    IdentityViewed,
    InfusionRecorded,
    LotExceptionalReleaseRecorded,
    LotReleaseRecorded,
    LotReleaseRejectionRecorded,
    PatientEnrolled,
    PatientJourneyEnded,
    ReceiptRefused,
    ThawRefused,
    UnitInfused,
    UnitReceived,
    UnitRegistered,
    UnitRejected,
    UnitStatus,
    UnitThawed,
)
from . import identity, thaw_projection
from .tables import (
    collections,
    infusions,
    patients,
    receipts,
    transfers,
    units,
)

# QC's holds, kept per item (v2v_runtime.holds): the streams are the record, no read model.
CODEC = EventCodec("custody", (*ALL_EVENTS, *HOLD_EVENTS))


def _actor(stored: StoredEvent) -> dict[str, str]:
    return {
        "actor_user_id": str(stored.actor.get("user_id", "")),
        "actor_role": str(stored.actor.get("role", "")),
    }


async def _update_unit(session: AsyncSession, stored: StoredEvent, **values: Any) -> None:
    await session.execute(
        update(units)
        .where(units.c.unit_id == stored.stream_id)
        .values(version=stored.version, **values)
    )


async def project(session: AsyncSession, stored: StoredEvent, event: DomainEvent) -> None:
    match event:
        case IdentityRecorded() | IdentityCorrected():
            await identity.project(session, event)
        case IdentityViewed():
            pass  # on the identity stream: the read is on the record, nothing to project
        case PatientEnrolled():
            await session.execute(
                insert(patients).values(
                    coi=event.coi,
                    therapy=event.therapy,
                    product_code=event.product_code,
                    autologous=event.autologous,
                    treatment_center=event.treatment_center,
                    apheresis_center=event.apheresis_center,
                    manufacturing_site=event.manufacturing_site,
                    patient_weight_kg=event.patient_weight_kg,
                    earliest_collection=event.earliest_collection,
                    status="enrolled",
                    enrolled_at=event.enrolled_at,
                    enrolled_by=str(stored.actor.get("user_id", "")),
                    version=stored.version,
                )
            )
        case CollectionRecorded():
            await session.execute(
                insert(collections).values(
                    din=event.din,
                    din_check=event.din_check,
                    coi=stored.stream_id,
                    unit_id=event.unit_id,
                    apheresis_center=event.apheresis_center,
                    volume_ml=event.volume_ml,
                    total_nucleated_cells=event.total_nucleated_cells,
                    collection_started_at=event.collection_started_at,
                    collection_ended_at=event.collection_ended_at,
                    recorded_at=event.recorded_at,
                    recorded_by=str(stored.actor.get("user_id", "")),
                    position=stored.position,
                    late=event.late,
                )
            )
            await session.execute(
                update(patients)
                .where(patients.c.coi == stored.stream_id)
                .values(status="collected", version=stored.version)
            )
        case InfusionRecorded():
            await session.execute(
                insert(infusions).values(
                    infusion_id=event.infusion_id,
                    coi=stored.stream_id,
                    unit_ids=list(event.unit_ids),
                    treatment_center=event.treatment_center,
                    thawed_at=event.thawed_at,
                    infused_at=event.infused_at,
                    thaw_to_infusion_minutes=event.thaw_to_infusion_minutes,
                    thaw_to_infusion_limit_minutes=event.thaw_to_infusion_limit_minutes,
                    flags=list(event.flags),
                    recorded_at=event.recorded_at,
                    late=event.late,
                    position=stored.position,
                    **_actor(stored),
                )
            )
            await session.execute(
                update(patients)
                .where(patients.c.coi == stored.stream_id)
                .values(status="infused", infused_at=event.infused_at, version=stored.version)
            )
        case PatientJourneyEnded():
            await session.execute(
                update(patients)
                .where(patients.c.coi == stored.stream_id)
                .values(
                    journey_status=event.status,
                    journey_ended_at=event.ended_at,
                    version=stored.version,
                )
            )
            # the enrolment no longer blocks enrolling the patient again
            await identity.end_enrolment(session, stored.stream_id, event.ended_at)
        case UnitRegistered():
            await session.execute(
                insert(units).values(
                    unit_id=event.unit_id,
                    kind=event.unit_kind.value,
                    coi=event.coi,
                    din=event.din,
                    din_check=event.din_check,
                    lot_id=event.lot_id,
                    status=UnitStatus.REGISTERED.value,
                    custodian=event.custodian,
                    location=event.location,
                    expected_destination=event.expected_destination,
                    expected_location_kind=event.expected_location_kind.value,
                    expires_at=event.expires_at,
                    registered_at=event.registered_at,
                    updated_at=event.registered_at,
                    version=stored.version,
                )
            )
        case CustodyTransferred():
            await _project_transfer(session, stored, event)
        case UnitReceived():
            await _project_receipt(session, stored, event)
        case ReceiptRefused():
            await session.execute(
                insert(receipts).values(
                    event_id=stored.event_id,
                    unit_id=event.unit_id,
                    coi=event.coi,
                    outcome="refused",
                    reason_code=event.reason_code.value,
                    reason=event.reason,
                    location=event.location,
                    location_kind=event.location_kind.value,
                    scanned_coi=event.scanned_coi,
                    scanned_din=event.scanned_din,
                    temperature_c=event.temperature_c,
                    minutes_out_of_storage=event.minutes_out_of_storage,
                    at=event.refused_at,
                    position=stored.position,
                    **_actor(stored),
                )
            )
            if event.coi is not None:  # a known unit: its stream moved on
                await _update_unit(session, stored, updated_at=event.refused_at)
        case UnitRejected():
            await _update_unit(
                session,
                stored,
                status=UnitStatus.REJECTED.value,
                rejected_at=event.rejected_at,
                rejected_reason=event.reason,
                updated_at=event.rejected_at,
            )
        case UnitThawed() | ThawRefused():
            await thaw_projection.project_thaw(session, stored, event)
        case LotReleaseRecorded() | LotReleaseRejectionRecorded() | LotExceptionalReleaseRecorded():
            await thaw_projection.project_lot_decision(session, stored, event)
        case UnitInfused():
            await _update_unit(
                session,
                stored,
                status=UnitStatus.INFUSED.value,
                infusion_id=event.infusion_id,
                infused_at=event.infused_at,
                updated_at=event.infused_at,
            )
        case HoldKept() | HoldLifted():
            pass  # enforced from the item's stream (application/holds.py)
        case _:
            raise TypeError(f"no projection for {type(event).__name__}")


async def _project_transfer(
    session: AsyncSession, stored: StoredEvent, event: CustodyTransferred
) -> None:
    row = (
        await session.execute(
            units.select()
            .with_only_columns(units.c.coi, units.c.status, units.c.location)
            .where(units.c.unit_id == stored.stream_id)
        )
    ).one()
    stays = row.status == UnitStatus.RECEIVED.value and row.location == event.location
    await session.execute(
        insert(transfers).values(
            transfer_id=event.transfer_id,
            unit_id=stored.stream_id,
            coi=row.coi,
            kind="handoff",
            from_party=event.from_party,
            to_party=event.to_party,
            location=event.location,
            temperature_c=event.temperature_c,
            transferred_at=event.transferred_at,
            position=stored.position,
            **_actor(stored),
        )
    )
    await _update_unit(
        session,
        stored,
        status=(UnitStatus.RECEIVED if stays else UnitStatus.IN_TRANSIT).value,
        custodian=event.to_party,
        location=event.location,
        updated_at=event.transferred_at,
    )


async def _project_receipt(session: AsyncSession, stored: StoredEvent, event: UnitReceived) -> None:
    row = (
        await session.execute(
            units.select().with_only_columns(units.c.coi).where(units.c.unit_id == stored.stream_id)
        )
    ).one()
    await session.execute(
        insert(transfers).values(
            transfer_id=event.transfer_id,
            unit_id=stored.stream_id,
            coi=row.coi,
            kind="receipt",
            from_party=event.from_party,
            to_party=event.location,
            location=event.location,
            temperature_c=event.temperature_c,
            transferred_at=event.received_at,
            position=stored.position,
            **_actor(stored),
        )
    )
    await session.execute(
        insert(receipts).values(
            event_id=stored.event_id,
            unit_id=stored.stream_id,
            coi=row.coi,
            outcome="accepted",
            transfer_id=event.transfer_id,
            location=event.location,
            location_kind=event.location_kind.value,
            scanned_coi=event.scanned_coi,
            scanned_din=event.scanned_din,
            temperature_c=event.temperature_c,
            minutes_out_of_storage=event.minutes_out_of_storage,
            at=event.received_at,
            position=stored.position,
            **_actor(stored),
        )
    )
    await _update_unit(
        session,
        stored,
        status=UnitStatus.RECEIVED.value,
        custodian=event.location,
        location=event.location,
        received_at=event.received_at,
        updated_at=event.received_at,
    )
