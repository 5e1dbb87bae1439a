"""Record the infusion: the last link of the chain of custody.

Every unit's thaw must have been recorded first (application/thaw.py: 409 unit-not-thawed
otherwise); the thaw-to-infusion time runs from the earliest thaw start of the units.
Above the product's limit it is flagged (response, event store, the published
InfusionRecorded — QC opens a deviation for it — and a warning log without PII), never
refused: the infusion has happened. The infusing person signs it (``sign``: they act); the
same infusion reported again signs nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from v2v_events.contracts.common import BoundedDatetime, Identifier
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.patient import Patient
from ..domain.policy import CustodyPolicy
from ..domain.unit import Unit
from . import messages
from .actors import who
from .holds import require_not_held
from .ports import SignAct
from .views import InfusionView

log = logging.getLogger("v2v.custody.infuse")


class RecordInfusion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_ids: list[Identifier] = Field(min_length=1, max_length=20)
    # Within the reported-time window: not in the future, not older than the maximum age.
    # The thaw's start is not given here: it is the units' recorded thaw.
    infused_at: BoundedDatetime

    @model_validator(mode="before")
    @classmethod
    def _no_thaw_time(cls, data: Any) -> Any:
        if isinstance(data, dict) and "thawed_at" in data:
            raise ValueError(
                "thawed_at is not accepted: record each unit's thaw first (POST "
                "/patients/{coi}/units/{unit_id}/thaw, thaw_started_at); the infusion takes "
                "its thaw-to-infusion time from the recorded thaw"
            )
        return data


async def infuse(
    uow: UnitOfWork, coi: str, cmd: RecordInfusion, policy: CustodyPolicy, sign: SignAct
) -> tuple[InfusionView, bool]:
    """Returns the infusion and whether it was recorded now (False: reported again)."""
    patients = uow.repository(Patient)
    patient = await patients.get(coi)
    repo = uow.repository(Unit)
    bags: list[Unit] = []
    for unit_id in cmd.unit_ids:
        unit = await repo.find(unit_id)
        if unit is None:
            raise DomainError("unit-unknown", f"no unit {unit_id!r} in custody", unit_id=unit_id)
        await require_not_held(uow, unit, "infusion")
        bags.append(unit)
    now = uow.clock.now()
    event, new = patient.record_infusion(uow.ids.new_id(), bags, cmd.infused_at, policy, now)
    if not new:
        return InfusionView.of(coi, event), False
    for unit in bags:
        unit.mark_infused(event.infusion_id, event.treatment_center, event.infused_at)
    actor = await sign()  # checked, nothing saved yet: the infusing person signs
    await patients.save(patient, who(actor))
    for unit in bags:
        await repo.save(unit, who(actor))
    lots = list(dict.fromkeys(u.lot_id for u in bags if u.lot_id is not None))
    await uow.publish(messages.infusion_recorded(coi, event, lots, actor), subject=coi)
    if event.flags:
        log.warning(
            "thaw-to-infusion time above the limit",
            extra={
                "coi": coi,
                "infusion_id": event.infusion_id,
                "thaw_to_infusion_minutes": event.thaw_to_infusion_minutes,
                "limit_minutes": event.thaw_to_infusion_limit_minutes,
                "flags": event.flags,
            },
        )
    return InfusionView.of(coi, event), True
