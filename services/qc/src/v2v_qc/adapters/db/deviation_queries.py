"""Read-side queries of deviations: the views (with the batches each names, CAPA actions,
timeline and QA's signatures), and the deviations the overdue view looks at."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.signatures.model import SignatureView
from v2v_runtime.signatures.store import signatures_of

from ...application.deviation_views import (
    CapaActionView,
    CapaView,
    ContainmentView,
    DeviationBatchView,
    DeviationView,
    EffectivenessView,
    InvestigationView,
    ReportView,
    TimelineEntry,
)
from ...domain.deviation_policy import DeviationPolicy
from ...domain.deviation_states import next_acts
from ...domain.events import Classification, DeviationState
from .tables import (
    capa_actions,
    deviation_batches,
    deviation_timeline,
    deviation_units,
    deviations,
)

FINISHED = (DeviationState.EFFECTIVE.value, DeviationState.NOT_EFFECTIVE.value)


async def deviation_view(
    session: AsyncSession, deviation_id: str, policy: DeviationPolicy, time_zone: str = "UTC"
) -> DeviationView | None:
    query = select(deviations).where(deviations.c.deviation_id == deviation_id)
    found = await _views(session, query, policy, time_zone)
    return found[0] if found else None


async def deviation_views(
    session: AsyncSession,
    policy: DeviationPolicy,
    *,
    coi: str | None = None,
    lot_id: str | None = None,
    equipment_id: str | None = None,
    batch_id: str | None = None,
    source: str | None = None,
    unit_id: str | None = None,
    shipment_id: str | None = None,
    material_lot_id: str | None = None,
    time_zone: str = "UTC",
) -> list[DeviationView]:
    """Deviations matching every filter given; a deviation on batches matches a CoI, lot or
    batch of a batch it names, and one naming units each of them."""
    query = select(deviations).order_by(deviations.c.opened_at, deviations.c.deviation_id)
    naming = select(deviation_batches.c.deviation_id)
    if coi is not None:
        query = query.where(
            (deviations.c.coi == coi)
            | deviations.c.deviation_id.in_(naming.where(deviation_batches.c.coi == coi))
        )
    if lot_id is not None:
        query = query.where(
            (deviations.c.lot_id == lot_id)
            | deviations.c.deviation_id.in_(naming.where(deviation_batches.c.lot_id == lot_id))
        )
    if batch_id is not None:
        query = query.where(
            deviations.c.deviation_id.in_(naming.where(deviation_batches.c.batch_id == batch_id))
        )
    if equipment_id is not None:
        query = query.where(deviations.c.equipment_id == equipment_id)
    if source is not None:
        query = query.where(deviations.c.source == source)
    if unit_id is not None:
        naming_unit = select(deviation_units.c.deviation_id)
        query = query.where(
            deviations.c.deviation_id.in_(naming_unit.where(deviation_units.c.unit_id == unit_id))
        )
    if shipment_id is not None:
        query = query.where(deviations.c.shipment_id == shipment_id)
    if material_lot_id is not None:
        query = query.where(deviations.c.material_lot_id == material_lot_id)
    return await _views(session, query, policy, time_zone)


async def unfinished_deviations(
    session: AsyncSession, policy: DeviationPolicy
) -> list[DeviationView]:
    """The deviations something may still be due on: open, closed with an effectiveness
    check to come, or reportable without their report."""
    query = (
        select(deviations)
        .where(
            deviations.c.state.not_in(FINISHED)
            | (deviations.c.reportable.is_(True) & deviations.c.report.is_(None))
        )
        .order_by(deviations.c.opened_at, deviations.c.deviation_id)
    )
    return await _views(session, query, policy, "UTC")


async def _views(
    session: AsyncSession, query: Select[Any], policy: DeviationPolicy, time_zone: str
) -> list[DeviationView]:
    rows = list(await session.execute(query))
    ids = [r.deviation_id for r in rows]
    if not ids:
        return []
    named: dict[str, list[DeviationBatchView]] = defaultdict(list)
    for b in await session.execute(
        select(deviation_batches)
        .where(deviation_batches.c.deviation_id.in_(ids))
        .order_by(deviation_batches.c.batch_id)
    ):
        named[b.deviation_id].append(
            DeviationBatchView(batch_id=b.batch_id, coi=b.coi, detail=b.detail, lot_id=b.lot_id)
        )
    units: dict[str, list[str]] = defaultdict(list)
    for u in await session.execute(
        select(deviation_units)
        .where(deviation_units.c.deviation_id.in_(ids))
        .order_by(deviation_units.c.unit_id)
    ):
        units[u.deviation_id].append(u.unit_id)
    actions: dict[str, list[CapaActionView]] = defaultdict(list)
    for a in await session.execute(
        select(capa_actions)
        .where(capa_actions.c.deviation_id.in_(ids))
        .order_by(capa_actions.c.deviation_id, capa_actions.c.position)
    ):
        actions[a.deviation_id].append(
            CapaActionView(
                action_id=a.action_id,
                description=a.description,
                owner=a.owner,
                due_date=a.due_date,
                kind=a.kind,
                done=a.done_at is not None,
                done_at=a.done_at,
                done_by=a.done_by,
                evidence=a.evidence,
            )
        )
    timeline: dict[str, list[TimelineEntry]] = defaultdict(list)
    for t in await session.execute(
        select(deviation_timeline)
        .where(deviation_timeline.c.deviation_id.in_(ids))
        .order_by(deviation_timeline.c.deviation_id, deviation_timeline.c.seq)
    ):
        timeline[t.deviation_id].append(
            TimelineEntry(
                state=t.state, previous_state=t.previous_state, at=t.moved_at, by=t.moved_by
            )
        )
    signed = await signatures_of(session, ids, time_zone)
    return [
        _view(
            r,
            policy,
            named[r.deviation_id],
            units[r.deviation_id],
            actions[r.deviation_id],
            timeline[r.deviation_id],
            signed.get(r.deviation_id, []),
        )
        for r in rows
    ]


def _view(
    r: Any,
    policy: DeviationPolicy,
    batches: list[DeviationBatchView],
    units: list[str],
    actions: list[CapaActionView],
    timeline: list[TimelineEntry],
    signatures: list[SignatureView],
) -> DeviationView:
    state = DeviationState(r.state)
    capa = (
        None
        if r.capa_approved_at is None
        else CapaView(
            approved_at=r.capa_approved_at, approved_by=r.capa_approved_by, actions=actions
        )
    )
    return DeviationView(
        deviation_id=r.deviation_id,
        coi=r.coi,
        lot_id=r.lot_id,
        panel_id=r.panel_id,
        classification=r.classification,
        proposed_classification=r.proposed_classification or r.classification,
        classified=r.classified_at is not None,
        classified_at=r.classified_at,
        classified_by=r.classified_by,
        classification_rationale=r.classification_rationale,
        source=r.source,
        description=r.description,
        state=state,
        allowed_next=[a.value for a in next_acts(state, capa is not None)],
        opened_at=r.opened_at,
        opened_by=r.opened_by,
        closed_at=r.closed_at,
        closed_by=r.closed_by,
        closure_reason=r.closure_reason,
        # stored at triage; before it (and for deviations triaged before targets were
        # kept) by the current class under the current policy
        closure_due=r.closure_due
        or policy.closure_due(r.opened_at, Classification(r.classification)),
        reportable=bool(r.reportable),
        reportable_reason=r.reportable_reason,
        report_due=r.report_due,
        report=None if r.report is None else ReportView.model_validate(r.report),
        containment=None
        if r.containment is None
        else ContainmentView.model_validate(r.containment),
        investigation=None
        if r.investigation is None
        else InvestigationView.model_validate(r.investigation),
        capa=capa,
        no_capa_justification=r.no_capa_justification,
        effectiveness_check_due=r.effectiveness_due,
        effectiveness=None
        if r.effectiveness is None
        else EffectivenessView.model_validate(r.effectiveness),
        follows_deviation_id=r.follows_deviation_id,
        timeline=timeline,
        signatures=signatures,
        site=r.site,
        equipment_id=r.equipment_id,
        batches=batches,
        unit_ids=units,
        shipment_id=r.shipment_id,
        material_lot_id=r.material_lot_id,
    )
