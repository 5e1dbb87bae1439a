"""Keeps the read models current from QC's domain events (same transaction as the
append); replaying the event store through it rebuilds them (v2v rebuild qc)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.domain import DomainEvent
from v2v_runtime.eventstore import StoredEvent

from ...domain.batch_record import BATCH_RECORD_EVENTS
from ...domain.events import (
    Decision,
    DeviationLinked,
    DeviationResolved,
    LotDeviationClassified,
    LotRegistered,
    LotRejected,
    LotReleased,
    LotWithdrawn,
    Meaning,
    PanelAssigned,
    PanelEvaluated,
    PanelOrdered,
    PanelReviewed,
    PanelStatus,
    RecoveryChosen,
    ResultRecorded,
)
from ...domain.patient_center import PATIENT_EVENTS
from ...domain.release_events import (
    ConditionalReleaseFailed,
    LotCertified,
    LotInfused,
    ReleaseFinalized,
)
from ...domain.trail_review import TrailReviewed
from .change_controls import project_change_control
from .deviation_projector import project_deviation
from .exceptional_releases import project_exceptional_release
from .holds import project_hold
from .notification_projector import project_notification
from .tables import (
    certificates,
    lot_units,
    lots,
    panel_reviews,
    panels,
    results,
)


async def project(session: AsyncSession, stored: StoredEvent, event: DomainEvent) -> None:
    if (
        await project_deviation(session, event)
        or await project_change_control(session, event)
        or await project_hold(session, event)
        or await project_notification(session, event)
        or await project_exceptional_release(session, event)
    ):
        return
    match event:
        case PanelOrdered():
            await session.execute(
                insert(panels).values(
                    panel_id=event.panel_id,
                    coi=event.coi,
                    lot_id=event.lot_id,
                    product_code=event.product_code,
                    spec_id=event.spec.spec_id,
                    spec_version=event.spec.version,
                    attempt=event.attempt,
                    patient_weight_kg=event.patient_weight_kg,
                    tests=[t.model_dump(mode="json") for t in event.spec.tests],
                    status=PanelStatus.ORDERED.value,
                    failures=[],
                    ordered_at=event.ordered_at,
                    ordered_by=event.ordered_by.model_dump(),
                )
            )
        case ResultRecorded():
            await session.execute(
                insert(results).values(
                    panel_id=event.panel_id,
                    test_code=event.test_code,
                    revision=event.revision,
                    value=event.value,
                    numeric=event.numeric,
                    unit=event.unit,
                    within_limit=event.within_limit,
                    recorded_at=event.recorded_at,
                    recorded_by=event.recorded_by.model_dump(),
                    correction_reason=event.correction_reason,
                    reason_code=event.reason_code,
                    calculation=None
                    if event.calculation is None
                    else event.calculation.model_dump(mode="json"),
                )
            )
        case PanelEvaluated():
            await session.execute(
                update(panels)
                .where(panels.c.panel_id == event.panel_id)
                .values(
                    status=event.outcome.value,
                    failures=[f.model_dump() for f in event.failures],
                    deviation_id=event.deviation_id,
                    evaluated_at=event.evaluated_at,
                )
            )
        case PanelReviewed():
            await session.execute(
                insert(panel_reviews).values(
                    panel_id=event.panel_id,
                    version=stored.version,
                    outcome=event.outcome.value,
                    results=event.results,
                    comment=event.comment,
                    reviewed_at=event.reviewed_at,
                    reviewed_by=event.reviewed_by.model_dump(),
                )
            )
        case LotRegistered():
            await _upsert_lot(
                session,
                event.lot_id,
                coi=event.coi,
                batch_id=event.batch_id,
                total_viable_cells=event.total_viable_cells,
                manufacturing_site=event.manufacturing_site,
            )
            for bag_id in dict.fromkeys(event.bag_ids):
                await session.execute(insert(lot_units).values(lot_id=event.lot_id, unit_id=bag_id))
        case PanelAssigned():
            await _upsert_lot(session, event.lot_id, coi=event.coi, panel_id=event.panel_id)
        case LotReleased():
            cert = event.certificate
            await _upsert_lot(
                session,
                event.lot_id,
                coi=cert.coi,
                decision=cert.decision.value,
                meaning=cert.meaning.value,
                reason=cert.reason,
                decided_at=cert.decided_at,
                decided_by=cert.reviewer.model_dump(),
                certificate_id=cert.certificate_id,
            )
            await session.execute(
                insert(certificates).values(
                    certificate_id=cert.certificate_id,
                    lot_id=cert.lot_id,
                    coi=cert.coi,
                    body=cert.model_dump(mode="json"),
                    issued_at=cert.decided_at,
                )
            )
        case LotRejected():
            await _upsert_lot(
                session,
                event.lot_id,
                coi=event.coi,
                decision=Decision.REJECT.value,
                meaning=Meaning.REJECTED.value,
                reason=event.reason,
                decided_at=event.decided_at,
                decided_by=event.decided_by.model_dump(),
            )
        case DeviationLinked() | LotDeviationClassified() | DeviationResolved():
            pass  # the deviations table already shows them
        case LotWithdrawn() | RecoveryChosen():
            pass  # on the lot's stream and, for decisions, on Kafka (qc.recovery.decided)
        case ReleaseFinalized():
            await _upsert_lot(session, event.lot_id, meaning=Meaning.RELEASED.value)
        case LotCertified() | LotInfused() | ConditionalReleaseFailed():
            pass  # on the lot's stream (the release package reads it)
        case TrailReviewed():
            pass  # read from its own stream (GET /lots/{lot_id}/audit-trail-review)
        case _ if isinstance(event, BATCH_RECORD_EVENTS + PATIENT_EVENTS):
            pass  # read from their own streams (the release; a physician's request)
        case _:
            raise TypeError(f"no projection for {type(event).__name__}")


async def _upsert_lot(session: AsyncSession, lot_id: str, **values: Any) -> None:
    found = (await session.execute(select(lots.c.lot_id).where(lots.c.lot_id == lot_id))).first()
    if found is None:
        await session.execute(insert(lots).values(lot_id=lot_id, **values))
    else:
        await session.execute(update(lots).where(lots.c.lot_id == lot_id).values(**values))
