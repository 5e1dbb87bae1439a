"""Record an apheresis collection: issue its DIN and register the apheresis unit."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.bounds import CELLS_MAX, VOLUME_MAX_ML
from v2v_events.contracts.common import Actor, BoundedDatetime, Name
from v2v_runtime.uow import UnitOfWork

from ..domain.isbt128 import issue_din
from ..domain.patient import Collection, Patient
from ..domain.policy import CustodyPolicy
from ..domain.unit import Unit
from . import messages
from .actors import who
from .ports import Sequences
from .views import CollectionView

log = logging.getLogger("v2v.custody.collect")


class RecordCollection(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    apheresis_center: Name
    volume_ml: float = Field(gt=0, le=VOLUME_MAX_ML)
    total_nucleated_cells: float = Field(gt=0, le=CELLS_MAX, allow_inf_nan=False)
    # Within the reported-time window: not in the future, not older than the maximum age.
    collection_started_at: BoundedDatetime
    collection_ended_at: BoundedDatetime


async def record_collection(
    uow: UnitOfWork, coi: str, cmd: RecordCollection, actor: Actor, policy: CustodyPolicy
) -> CollectionView:
    patients = uow.repository(Patient)
    patient = await patients.get(coi)
    enrolled = patient.enrolled
    now = uow.clock.now()
    year = now.year % 100
    sequences = uow.port(Sequences)
    din = issue_din(
        policy.facility_id, year, await sequences.allocate("din", policy.facility_id, year)
    )
    unit_id = uow.ids.new_id()
    event = patient.record_collection(
        din,
        unit_id,
        Collection(
            apheresis_center=cmd.apheresis_center,
            volume_ml=cmd.volume_ml,
            total_nucleated_cells=cmd.total_nucleated_cells,
            started_at=cmd.collection_started_at,
            ended_at=cmd.collection_ended_at,
        ),
        policy,
        now,
    )
    unit = Unit.register_apheresis(
        unit_id, coi, din, enrolled.apheresis_center, enrolled.manufacturing_site, now
    )
    await patients.save(patient, who(actor))
    await uow.repository(Unit).save(unit, who(actor))
    await uow.publish(messages.collection_recorded(coi, din, unit_id, event, actor), subject=coi)
    log.info("collection recorded", extra={"coi": coi, "din": din.number, "unit_id": unit_id})
    return CollectionView(
        coi=coi,
        din=din.number,
        din_check=din.check,
        din_flag=din.flag,
        unit_id=unit_id,
        apheresis_center=event.apheresis_center,
        volume_ml=event.volume_ml,
        total_nucleated_cells=event.total_nucleated_cells,
        collection_started_at=event.collection_started_at,
        collection_ended_at=event.collection_ended_at,
        recorded_at=event.recorded_at,
        late=event.late,
    )
