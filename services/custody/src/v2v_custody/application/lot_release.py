"""QA's decision on a lot (QC's lot.released, lot.release-rejected and
lot.exceptionally-released): custody keeps it per
lot, so that a unit of a lot QA has not released is not thawed (application/thaw.py).
Idempotent: the same decision delivered again changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from v2v_events.contracts import qc
from v2v_events.contracts.exceptional_release import LotExceptionallyReleased
from v2v_runtime.uow import UnitOfWork

from ..domain.lot_release import LotRelease
from .actors import who

log = logging.getLogger("v2v.custody.lot_release")


async def record_lot_released(uow: UnitOfWork, msg: qc.LotReleased) -> bool:
    """Returns whether this was news."""

    def decide(lot: LotRelease, now: datetime) -> bool:
        return lot.record_release(msg.coi, msg.certificate_id, msg.decided_at, now)

    return await _record(uow, msg, decide)


async def record_lot_release_rejected(uow: UnitOfWork, msg: qc.LotReleaseRejected) -> bool:
    """Returns whether this was news."""

    def decide(lot: LotRelease, now: datetime) -> bool:
        return lot.record_release_rejected(msg.coi, msg.reason, msg.decided_at, now)

    return await _record(uow, msg, decide)


async def record_lot_exceptionally_released(uow: UnitOfWork, msg: LotExceptionallyReleased) -> bool:
    """QA released an out-of-specification lot at the physician's request: a release.
    Returns whether this was news."""

    def decide(lot: LotRelease, now: datetime) -> bool:
        return lot.record_exceptional_release(msg.coi, msg.decision_ref, msg.decided_at, now)

    return await _record(uow, msg, decide)


async def _record(
    uow: UnitOfWork,
    msg: qc.LotReleased | qc.LotReleaseRejected | LotExceptionallyReleased,
    decide: Callable[[LotRelease, datetime], bool],
) -> bool:
    repo = uow.repository(LotRelease)
    lot = await repo.find(LotRelease.stream_id(msg.lot_id)) or LotRelease.of(msg.lot_id)
    if not decide(lot, uow.clock.now()):
        return False
    await repo.save(lot, who(msg.actor))
    log.info(
        "QA's decision on a lot recorded",
        extra={"coi": msg.coi, "lot_id": msg.lot_id, "decision": msg.meaning.value},
    )
    return True
