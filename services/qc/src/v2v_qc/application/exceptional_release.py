"""Exceptional release of an out-of-specification lot: the physician's request (treatment
center), QA's risk assessment, QA's decision (published as qc.lot.exceptionally-released),
and for an EU site the authority's notification within 48 h of the infusion. Each ``check_*``
runs before anyone is asked to sign; the act runs it again."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import InfusionRecorded
from v2v_events.contracts.exceptional_release import LotExceptionallyReleased
from v2v_events.contracts.qc import RecoveryDecision
from v2v_runtime.errors import Conflict
from v2v_runtime.uow import UnitOfWork

from ..domain.exceptional_release import (
    ExceptionallyReleased,
    ExceptionalRelease,
    PhysicianRequestRecorded,
    RiskAssessed,
    SiteRegions,
    exceptional_release_stream,
)
from ..domain.lot import Lot
from ..domain.panel import Panel
from . import messages
from .batch_record import require_batch_record_reviewed
from .holds import require_not_held
from .patient_center import center_of
from .recovery import out_of_specification
from .release_checks import load_lot

NAME = Field(min_length=1, max_length=200)
TEXT = Field(min_length=1, max_length=4000)


class PhysicianRequestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    treatment_center: str = Field(min_length=1, max_length=200)
    physician_name: str = NAME
    physician_id: str = Field(min_length=1, max_length=64, description="licence / ID")
    justification: str = TEXT


class RiskAssessmentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assessment: str = TEXT


class ExceptionalReleaseEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = TEXT
    expanded_access_ref: str | None = Field(
        None, min_length=1, max_length=64, description="US: the IND / expanded-access number"
    )


class AuthorityNotificationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=200)
    notified_at: datetime | None = Field(None, description="when it was sent; default now")


async def load(uow: UnitOfWork, lot_id: str) -> ExceptionalRelease:
    found = await uow.repository(ExceptionalRelease).find(exceptional_release_stream(lot_id))
    return found or ExceptionalRelease.of(lot_id)


async def check_request(
    uow: UnitOfWork, lot_id: str, treatment_center: str
) -> tuple[Lot, ExceptionalRelease, bool]:
    lot = await load_lot(uow, lot_id)
    oos = await out_of_specification(uow, lot)
    release = await load(uow, lot_id)
    release.check_request(oos)
    assert lot.coi is not None  # a lot with a panel belongs to a patient
    (await center_of(uow, lot.coi)).require_center(lot.coi, treatment_center)
    return lot, release, oos


async def record_request(
    uow: UnitOfWork, lot_id: str, entry: PhysicianRequestEntry, who: Actor
) -> PhysicianRequestRecorded:
    by = messages.who(who)
    lot, release, oos = await check_request(uow, lot_id, entry.treatment_center)
    assert lot.coi is not None
    event = release.record_request(
        coi=lot.coi,
        site=lot.manufacturing_site,
        treatment_center=entry.treatment_center,
        physician_name=entry.physician_name,
        physician_id=entry.physician_id,
        justification=entry.justification,
        out_of_specification=oos,
        by=by,
        at=uow.clock.now(),
    )
    await uow.repository(ExceptionalRelease).save(release, by.model_dump())
    return event


async def check_assessment(uow: UnitOfWork, lot_id: str) -> ExceptionalRelease:
    await load_lot(uow, lot_id)
    release = await load(uow, lot_id)
    release.check_assessment()
    return release


async def assess(
    uow: UnitOfWork, lot_id: str, entry: RiskAssessmentEntry, who: Actor
) -> RiskAssessed:
    by = messages.who(who)
    release = await check_assessment(uow, lot_id)
    event = release.assess(entry.assessment, by, uow.clock.now())
    await uow.repository(ExceptionalRelease).save(release, by.model_dump())
    return event


async def check_decision(
    uow: UnitOfWork, lot_id: str, entry: ExceptionalReleaseEntry, regions: SiteRegions
) -> tuple[Lot, ExceptionalRelease]:
    lot = await load_lot(uow, lot_id)
    release = await load(uow, lot_id)
    release.check_release(
        recovery_decided=lot.latest_recovery is RecoveryDecision.EXCEPTIONAL_RELEASE,
        region=regions.of(lot.manufacturing_site),
        expanded_access_ref=entry.expanded_access_ref,
    )
    if lot.withdrawn is not None:
        raise Conflict(
            "lot-withdrawn", f"manufacturing rejected lot {lot_id}: {lot.withdrawn.reason}"
        )
    await require_not_held(uow, lot_id)
    if lot.panel_id is not None:  # the OOS results, confirmed by the QC reviewer
        (await uow.repository(Panel).get(lot.panel_id)).check_reviewed()
    await require_batch_record_reviewed(uow, lot)  # OOS, not unreviewed: the record is read
    return lot, release


async def release_exceptionally(
    uow: UnitOfWork,
    lot_id: str,
    entry: ExceptionalReleaseEntry,
    regions: SiteRegions,
    who: Actor,
) -> ExceptionallyReleased:
    by = messages.who(who)
    lot, release = await check_decision(uow, lot_id, entry, regions)
    assert lot.panel_id is not None  # an OOS lot has its evaluated panel
    panel = await uow.repository(Panel).get(lot.panel_id)
    event = release.release(
        panel_id=panel.id,
        result_authors=frozenset(panel.result_authors),
        recovery_decided=lot.latest_recovery is RecoveryDecision.EXCEPTIONAL_RELEASE,
        region=regions.of(lot.manufacturing_site),
        site=lot.manufacturing_site,
        expanded_access_ref=entry.expanded_access_ref,
        reason=entry.reason,
        by=by,
        at=uow.clock.now(),
    )
    await uow.repository(ExceptionalRelease).save(release, by.model_dump())
    await uow.publish(
        LotExceptionallyReleased(
            coi=event.coi,
            lot_id=lot_id,
            panel_id=event.panel_id,
            decision_ref=event.decision_ref,
            region=event.region,
            site=event.site,
            expanded_access_ref=event.expanded_access_ref,
            decided_at=event.decided_at,
            actor=messages.actor(by),
        ),
        subject=event.coi,
    )
    return event


async def note_infusion(uow: UnitOfWork, msg: InfusionRecorded) -> None:
    """Custody recorded an infusion: for each exceptionally released lot of an EU site in
    it, the authority's notification falls due 48 h later."""
    repo = uow.repository(ExceptionalRelease)
    for lot_id in dict.fromkeys(msg.lot_ids):
        release = await repo.find(exceptional_release_stream(lot_id))
        if release is not None and release.note_infusion(msg.infusion_id, msg.infused_at):
            await repo.save(release, messages.who(msg.actor).model_dump())


async def record_authority_notification(
    uow: UnitOfWork, lot_id: str, entry: AuthorityNotificationEntry, who: Actor
) -> None:
    by = messages.who(who)
    await load_lot(uow, lot_id)
    release = await load(uow, lot_id)
    now = uow.clock.now()
    release.record_authority_notification(entry.reference, entry.notified_at or now, by, now)
    await uow.repository(ExceptionalRelease).save(release, by.model_dump())
