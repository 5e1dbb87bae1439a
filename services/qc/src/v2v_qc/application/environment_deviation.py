"""An environmental monitoring result above its action limit (batch's
``environment.action-limit-exceeded``, EU GMP Annex 1): QC opens one deviation per
excursion (a repeated message opens none), on the batches whose steps were done in the room
within the excursion's impact window — major when there are any (their impact is to be
assessed), minor when none. The lots QC knows of those batches are linked to it, and so is
each one registered later while it is open: a major deviation holds their release until QA
closes it."""

from __future__ import annotations

import uuid

from v2v_events.bounds import clip
from v2v_events.contracts.environment import EnvironmentActionLimitExceeded
from v2v_runtime.uow import UnitOfWork

from ..domain.deviation import ENVIRONMENT_SOURCE, Deviation
from ..domain.events import Classification, DeviationBatch
from .deviations_on_batches import open_once_on_batches

# Deviation ids of excursions: DEV-EM- and a uuid5 of the excursion id (bounded length).
NAMESPACE = uuid.UUID("0f3b8c1e-5d2a-4c47-9a0e-6e1f4b7d2c95")


def deviation_id_of(msg: EnvironmentActionLimitExceeded) -> str:
    """One deviation per excursion: its id follows from the excursion's."""
    return f"DEV-EM-{uuid.uuid5(NAMESPACE, msg.excursion_id)}"


def description(msg: EnvironmentActionLimitExceeded) -> str:
    occupancy = f", {msg.occupancy.value}" if msg.occupancy else ""
    more = msg.batch_count - len(msg.batches)
    listed = "; ".join(
        f"{b.batch_id} ({', '.join(b.steps)}; {b.first_started_at.isoformat()} to "
        f"{b.last_ended_at.isoformat()})"
        for b in msg.batches
    )
    return clip(
        f"Environmental monitoring action limit exceeded in room {msg.room_id} "
        f"({msg.room_name}, grade {msg.grade.value}, {msg.site}): {msg.sample_type} "
        f"{msg.sample_id} at {msg.location}{occupancy}, sampled {msg.sampled_at.isoformat()}: "
        f"{msg.value:g} {msg.unit} (action limit {msg.action_limit:g}; {msg.edition}, "
        f"programme {msg.config_version}; result {msg.excursion_id}). Impact assessment: "
        f"{msg.batch_count} batch(es) with steps in the room from "
        f"{msg.window_from.isoformat()} to {msg.window_to.isoformat()}"
        + (f": {listed}" if listed else "")
        + (f" and {more} more (batch's room steps of {msg.room_id})" if more > 0 else "")
        + "."
    )


async def open_environment_deviation(
    uow: UnitOfWork, msg: EnvironmentActionLimitExceeded
) -> Deviation | None:
    """The deviation of this excursion (None: opened already, by an earlier delivery)."""
    return await open_once_on_batches(
        uow,
        deviation_id_of(msg),
        source=ENVIRONMENT_SOURCE,
        classification=Classification.MAJOR if msg.batch_count > 0 else Classification.MINOR,
        description=description(msg),
        site=msg.site,
        equipment_id=None,
        batches=[
            DeviationBatch(
                batch_id=b.batch_id,
                coi=b.coi,
                detail=f"in room {msg.room_id} at {', '.join(b.steps)} from "
                f"{b.first_started_at.isoformat()} to {b.last_ended_at.isoformat()}",
            )
            for b in msg.batches
        ],
        actor=msg.actor,
    )
