"""An instrument found out of tolerance (batch's ``equipment.out-of-tolerance``): QC opens
one deviation per calibration (a repeated message opens none), on the batches used since
the instrument was last in tolerance — major when there are any (their impact is to be
assessed), minor when none. The lots QC knows of those batches are linked to it, and so
is each one registered later while it is open: a major deviation holds their release
until QA closes it."""

from __future__ import annotations

from v2v_events.bounds import clip
from v2v_events.contracts.equipment import EquipmentOutOfTolerance
from v2v_runtime.uow import UnitOfWork

from ..domain.deviation import EQUIPMENT_SOURCE, Deviation
from ..domain.events import Classification
from .deviations_on_batches import named_batches, open_once_on_batches


def deviation_id_of(msg: EquipmentOutOfTolerance) -> str:
    """One deviation per calibration: its id follows from the calibration's."""
    return f"DEV-EQ-{msg.calibration_id}"


def description(msg: EquipmentOutOfTolerance) -> str:
    since = msg.since.isoformat() if msg.since else "it entered service"
    more = msg.batch_count - len(msg.batches)
    listed = "; ".join(
        f"{b.batch_id} ({', '.join(b.steps)}; {b.first_used_at.isoformat()} to "
        f"{b.last_used_at.isoformat()})"
        for b in msg.batches
    )
    return clip(
        f"{msg.equipment_type} {msg.equipment_id} ({msg.location}, {msg.site}) was found out "
        f"of tolerance at its calibration of {msg.performed_at.isoformat()} (certificate "
        f"{msg.certificate_ref}) and left {msg.as_left.value}. Impact assessment: "
        f"{msg.batch_count} batch(es) used it since {since}"
        + (f": {listed}" if listed else "")
        + (f" and {more} more (batch's usage log of {msg.equipment_id})" if more > 0 else "")
        + "."
    )


async def open_equipment_deviation(
    uow: UnitOfWork, msg: EquipmentOutOfTolerance
) -> Deviation | None:
    """The deviation of this finding (None: opened already, by an earlier delivery)."""
    major = msg.batch_count > 0
    return await open_once_on_batches(
        uow,
        deviation_id_of(msg),
        source=EQUIPMENT_SOURCE,
        classification=Classification.MAJOR if major else Classification.MINOR,
        description=description(msg),
        site=msg.site,
        equipment_id=msg.equipment_id,
        batches=named_batches(msg.batches),
        actor=msg.actor,
    )
