"""Keeps the deviation read models current (qc_deviations, the batches each names, CAPA
actions, the timeline of states) from the deviation's domain events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.domain import DomainEvent

from ...domain.common import Who
from ...domain.deviation_events import (
    CapaActionDone,
    CapaPlanApproved,
    DeviationContained,
    DeviationImplemented,
    DeviationInvestigated,
    Effectiveness,
    EffectivenessChecked,
    RegulatoryReportRecorded,
)
from ...domain.events import (
    DeviationClassified,
    DeviationClosed,
    DeviationLotAffected,
    DeviationOpened,
    DeviationState,
)
from .tables import (
    capa_actions,
    deviation_batches,
    deviation_timeline,
    deviation_units,
    deviations,
)

S = DeviationState
_ANY: TypeAdapter[Any] = TypeAdapter(Any)


async def project_deviation(session: AsyncSession, event: DomainEvent) -> bool:
    """Project a deviation's event (False: not one)."""
    match event:
        case DeviationOpened():
            await _opened(session, event)
        case DeviationClassified():
            await _set(
                session,
                event.deviation_id,
                classification=event.classification.value,
                classified_at=event.classified_at,
                classified_by=event.classified_by.model_dump(),
                classification_rationale=event.reason,
                reportable=event.reportable,
                reportable_reason=event.reportable_reason,
                closure_due=event.closure_due,
                report_due=event.report_due,
            )
            if await _state(session, event.deviation_id) is S.OPENED:
                await _move(
                    session, event.deviation_id, S.TRIAGED, event.classified_at, event.classified_by
                )
        case DeviationLotAffected():
            await session.execute(
                update(deviation_batches)
                .where(
                    deviation_batches.c.deviation_id == event.deviation_id,
                    deviation_batches.c.batch_id == event.batch_id,
                )
                .values(lot_id=event.lot_id)
            )
        case DeviationContained():
            record = {"actions": event.actions, "affected": event.affected}
            await _step(
                session,
                event.deviation_id,
                "containment",
                record,
                event.contained_at,
                event.contained_by,
            )
            await _move(
                session, event.deviation_id, S.CONTAINED, event.contained_at, event.contained_by
            )
        case DeviationInvestigated():
            record = {
                "root_cause_category": event.root_cause_category,
                "narrative": event.narrative,
            }
            await _step(
                session,
                event.deviation_id,
                "investigation",
                record,
                event.investigated_at,
                event.investigated_by,
            )
            await _move(
                session,
                event.deviation_id,
                S.INVESTIGATED,
                event.investigated_at,
                event.investigated_by,
            )
        case CapaPlanApproved():
            await _capa_approved(session, event)
        case CapaActionDone():
            await session.execute(
                update(capa_actions)
                .where(
                    capa_actions.c.deviation_id == event.deviation_id,
                    capa_actions.c.action_id == event.action_id,
                )
                .values(
                    done_at=event.done_at,
                    done_by=event.done_by.model_dump(),
                    evidence=event.evidence,
                )
            )
        case DeviationImplemented():
            await _move(
                session,
                event.deviation_id,
                S.IMPLEMENTED,
                event.implemented_at,
                event.implemented_by,
            )
        case DeviationClosed():
            await _closed(session, event)
        case EffectivenessChecked():
            await _effectiveness(session, event)
        case RegulatoryReportRecorded():
            report = {"reference": event.reference, "submitted_on": event.submitted_on}
            await _step(
                session, event.deviation_id, "report", report, event.recorded_at, event.recorded_by
            )
        case _:
            return False
    return True


async def _opened(session: AsyncSession, event: DeviationOpened) -> None:
    await session.execute(
        insert(deviations).values(
            deviation_id=event.deviation_id,
            coi=event.coi,
            lot_id=event.lot_id,
            panel_id=event.panel_id,
            classification=event.classification.value,
            proposed_classification=event.classification.value,
            source=event.source,
            description=event.description,
            state=S.OPENED.value,
            opened_at=event.opened_at,
            opened_by=event.opened_by.model_dump(),
            site=event.site,
            equipment_id=event.equipment_id,
            shipment_id=event.shipment_id,
            material_lot_id=event.material_lot_id,
        )
    )
    for unit_id in event.unit_ids:
        await session.execute(
            insert(deviation_units).values(deviation_id=event.deviation_id, unit_id=unit_id)
        )
    for b in event.batches:
        await session.execute(
            insert(deviation_batches).values(
                deviation_id=event.deviation_id,
                batch_id=b.batch_id,
                coi=b.coi,
                detail=b.detail,
            )
        )
    await _timeline(session, event.deviation_id, S.OPENED, None, event.opened_at, event.opened_by)


async def _capa_approved(session: AsyncSession, event: CapaPlanApproved) -> None:
    await _set(
        session,
        event.deviation_id,
        capa_approved_at=event.approved_at,
        capa_approved_by=event.approved_by.model_dump(),
        effectiveness_due=event.effectiveness_due,
    )
    for position, a in enumerate(event.actions, 1):
        await session.execute(
            insert(capa_actions).values(
                deviation_id=event.deviation_id,
                action_id=a.action_id,
                position=position,
                description=a.description,
                owner=a.owner,
                due_date=a.due_date,
                kind=a.kind.value,
            )
        )
    await _move(session, event.deviation_id, S.CAPA_APPROVED, event.approved_at, event.approved_by)


async def _closed(session: AsyncSession, event: DeviationClosed) -> None:
    values: dict[str, Any] = {
        "closed_at": event.closed_at,
        "closed_by": event.closed_by.model_dump(),
        "closure_reason": event.reason,
        "no_capa_justification": event.no_capa_justification,
    }
    if event.effectiveness_due is not None:
        values["effectiveness_due"] = event.effectiveness_due
    await _set(session, event.deviation_id, **values)
    await _move(session, event.deviation_id, S.CLOSED, event.closed_at, event.closed_by)


async def _effectiveness(session: AsyncSession, event: EffectivenessChecked) -> None:
    record = {
        "result": event.result.value,
        "narrative": event.narrative,
        "follow_up_deviation_id": event.follow_up_deviation_id,
    }
    await _step(
        session,
        event.deviation_id,
        "effectiveness",
        record,
        event.checked_at,
        event.checked_by,
        prefix="checked",
    )
    effective = event.result is Effectiveness.EFFECTIVE
    state = S.EFFECTIVE if effective else S.NOT_EFFECTIVE
    await _move(session, event.deviation_id, state, event.checked_at, event.checked_by)
    if event.follow_up_deviation_id is not None:
        await _set(session, event.follow_up_deviation_id, follows_deviation_id=event.deviation_id)


async def _set(session: AsyncSession, deviation_id: str, **values: Any) -> None:
    await session.execute(
        update(deviations).where(deviations.c.deviation_id == deviation_id).values(**values)
    )


async def _step(
    session: AsyncSession,
    deviation_id: str,
    column: str,
    record: dict[str, Any],
    at: datetime,
    by: Who,
    prefix: str = "recorded",
) -> None:
    """A step's record as its view shows it (JSON), with when and by whom."""
    shown = {**record, f"{prefix}_at": at, f"{prefix}_by": by}
    await _set(session, deviation_id, **{column: _json(shown)})


def _json(value: Any) -> Any:
    return _ANY.dump_python(value, mode="json")


async def _state(session: AsyncSession, deviation_id: str) -> DeviationState:
    row = (
        await session.execute(
            select(deviations.c.state).where(deviations.c.deviation_id == deviation_id)
        )
    ).one()
    return DeviationState(row.state)


async def _move(
    session: AsyncSession, deviation_id: str, state: DeviationState, at: datetime, by: Who
) -> None:
    previous = await _state(session, deviation_id)
    await _set(session, deviation_id, state=state.value)
    await _timeline(session, deviation_id, state, previous, at, by)


async def _timeline(
    session: AsyncSession,
    deviation_id: str,
    state: DeviationState,
    previous: DeviationState | None,
    at: datetime,
    by: Who,
) -> None:
    count = (
        await session.execute(
            select(func.count())
            .select_from(deviation_timeline)
            .where(deviation_timeline.c.deviation_id == deviation_id)
        )
    ).scalar_one()
    await session.execute(
        insert(deviation_timeline).values(
            deviation_id=deviation_id,
            seq=count + 1,
            state=state.value,
            previous_state=None if previous is None else previous.value,
            moved_at=at,
            moved_by=by.model_dump(),
        )
    )
