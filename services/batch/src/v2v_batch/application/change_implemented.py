"""Batch says it acted on an approved change control (batch.change-control.implemented):
QC closes the change control on it."""

from __future__ import annotations

import logging
from datetime import datetime

from v2v_events.contracts.change_control import (
    ChangeControlImplemented,
    ChangeSubject,
    change_subject_key,
)
from v2v_runtime.uow import UnitOfWork

log = logging.getLogger("v2v.batch.change-control")


async def implemented(
    uow: UnitOfWork,
    change_control_id: str,
    kind: ChangeSubject,
    subject_id: str,
    site: str | None,
    version: int,
    effective_at: datetime,
) -> None:
    await uow.publish(
        ChangeControlImplemented(
            change_control_id=change_control_id,
            subject_kind=kind,
            subject_id=subject_id,
            site=site,
            version=version,
            effective_at=effective_at,
            implemented_at=uow.clock.now(),
        ),
        subject=change_subject_key(kind, subject_id, site),
    )
