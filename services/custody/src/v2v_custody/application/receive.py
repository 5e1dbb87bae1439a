"""Receipt scan: check the unit against the expected journey; accept or refuse.

A refusal is evidence: it is recorded (event store and the public ReceiptRefused event)
and committed; the caller then answers the scan with a problem (422 receipt-mismatch).
An accepted receipt is signed by the person who receives the unit (``sign``: they act);
a refusal, and a repeated scan of a unit already received here, sign nothing.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.bounds import MINUTES_MAX
from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.events import LocationKind
from ..domain.isbt128 import is_coi
from ..domain.receipts import Accepted, ReceiptDecision, ReceiptScan, Refused
from ..domain.unit import Unit
from ..domain.unknown_unit import UnknownUnitScans
from . import messages
from .actors import who
from .ports import SignAct

log = logging.getLogger("v2v.custody.receive")


class ReceiveUnit(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unit_id: str = Field(min_length=1, max_length=128)
    scanned_coi: str = Field(min_length=1, max_length=64, description="CoI read from the label")
    scanned_din: str | None = Field(
        None, min_length=1, max_length=64, description="DIN read from an apheresis label"
    )
    location: str = Field(min_length=1, max_length=200)
    location_kind: LocationKind
    temperature_c: float | None = Field(None, ge=-273.15, le=100)
    minutes_out_of_storage: float | None = Field(None, ge=0, le=MINUTES_MAX, allow_inf_nan=False)


async def receive(
    uow: UnitOfWork, cmd: ReceiveUnit, actor: Actor, sign: SignAct
) -> ReceiptDecision:
    """``actor``: who scanned (a refusal is theirs); an accepted receipt is the signer's."""
    scan = ReceiptScan(
        unit_id=cmd.unit_id,
        scanned_coi=cmd.scanned_coi,
        scanned_din=cmd.scanned_din,
        location=cmd.location,
        location_kind=cmd.location_kind,
        temperature_c=cmd.temperature_c,
        minutes_out_of_storage=cmd.minutes_out_of_storage,
    )
    now = uow.clock.now()
    units = uow.repository(Unit)
    unit = await units.find(cmd.unit_id)
    if unit is None:
        repo = uow.repository(UnknownUnitScans)
        stream = UnknownUnitScans.stream_id(cmd.unit_id)
        scans = await repo.find(stream) or UnknownUnitScans(stream)
        refused = scans.refuse(scan, now)
        await repo.save(scans, who(actor))
        # Published under the CoI the label claims, when it is one; a label without a
        # readable CoI belongs to no journey and stays in custody's records only.
        if is_coi(scan.scanned_coi):
            await uow.publish(
                messages.receipt_refused(scan.scanned_coi, refused.event, actor),
                subject=scan.scanned_coi,
            )
        _log_refusal(refused)
        return refused
    decision = unit.scan_for_receipt(scan, uow.ids.new_id(), now)
    if isinstance(decision, Refused):
        await units.save(unit, who(actor))
        await uow.publish(
            messages.receipt_refused(unit.coi, decision.event, actor), subject=unit.coi
        )
        _log_refusal(decision)
        return decision
    if not decision.new:
        return decision  # already received here: nothing recorded, nothing to sign
    receiver = await sign()
    await units.save(unit, who(receiver))
    r = decision.receipt
    await uow.publish(messages.unit_received(r, receiver), subject=r.coi)
    log.info("unit received", extra={"coi": r.coi, "unit_id": r.unit_id, "location": r.location})
    return decision


def _log_refusal(refused: Refused) -> None:
    log.warning(
        "receipt refused",
        extra={
            "unit_id": refused.event.unit_id,
            "coi": refused.event.coi,
            "reason": refused.code.value,
            "location": refused.event.location,
        },
    )


__all__ = ["Accepted", "ReceiveUnit", "Refused", "receive"]
