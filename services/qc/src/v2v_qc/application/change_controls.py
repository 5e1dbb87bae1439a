"""Change control: raise a change to an MBR, a specification or an SOP version, assess its
impact, approve (publishing qc.change-control.approved for the owning service to act on) or
reject it; and note that the owning service acted (implemented).

QC owns the specifications: it acts on its own approval of a specification version in the
same transaction (the version becomes the product's current one)."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.bounds import INT32_MAX
from v2v_events.contracts import change_control as cc
from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict, DomainError, NotFound
from v2v_runtime.uow import UnitOfWork

from ..domain.change_control import ChangeControl
from ..domain.change_control_events import ChangeControlApproved, ImpactAssessment
from ..domain.common import SYSTEM_ROLE, Who
from ..domain.spec import SpecCatalog
from . import messages
from .change_control_ports import ChangeControls

log = logging.getLogger("v2v.qc.change-control")
QC_SERVICE = "qc"
# Batch acting on an approval (an MBR or SOP version made effective): a service's reaction.
BATCH = Who(user_id="system:batch", role=SYSTEM_ROLE)
CHANGE_CONTROL_PREFIX = "CC-"


class ChangeRequestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_kind: cc.ChangeSubject
    subject_id: str = Field(
        min_length=1,
        max_length=64,
        description="an MBR's product code, a specification's id, an SOP's document id",
    )
    site: str | None = Field(
        default=None, min_length=1, max_length=128, description="an MBR's site (only)"
    )
    version: int = Field(ge=1, le=INT32_MAX, description="the version the change makes effective")
    description: str = Field(min_length=1, max_length=4000)
    reason: str = Field(min_length=1, max_length=4000)


class ApprovalEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, min_length=1, max_length=2000)


class RejectionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


async def load(uow: UnitOfWork, change_control_id: str) -> ChangeControl:
    found = await uow.repository(ChangeControl).find(change_control_id)
    if found is None:
        raise NotFound("change-control-not-found", f"no change control {change_control_id!r}")
    return found


async def raise_change(
    uow: UnitOfWork, entry: ChangeRequestEntry, who: Actor, specs: SpecCatalog
) -> ChangeControl:
    """A new change control; one at a time per document version (a rejected one aside)."""
    by = messages.who(who)
    kind, subject_id, site = entry.subject_kind, entry.subject_id, entry.site
    if kind is cc.ChangeSubject.SPECIFICATION and not specs.knows(subject_id):
        raise DomainError(
            "spec-unknown", f"QC has no specification {subject_id!r}", field="subject_id"
        )
    existing = await uow.port(ChangeControls).naming(kind, subject_id, site, entry.version)
    if existing:
        raise Conflict(
            "change-control-exists",
            f"change control {existing[0]} already names version {entry.version} of {subject_id}",
            change_control_id=existing[0],
        )
    change = ChangeControl.raise_(
        CHANGE_CONTROL_PREFIX + uow.ids.new_id(),
        subject_kind=kind,
        subject_id=subject_id,
        site=site,
        version=entry.version,
        description=entry.description,
        reason=entry.reason,
        by=by,
        at=uow.clock.now(),
    )
    await uow.repository(ChangeControl).save(change, by.model_dump())
    return change


async def assess_change(
    uow: UnitOfWork, change_control_id: str, assessment: ImpactAssessment, who: Actor
) -> ChangeControl:
    by = messages.who(who)
    change = await load(uow, change_control_id)
    change.assess(assessment, by, uow.clock.now())
    await uow.repository(ChangeControl).save(change, by.model_dump())
    return change


async def approve_change(
    uow: UnitOfWork,
    change_control_id: str,
    entry: ApprovalEntry,
    who: Actor,
    specs: SpecCatalog,
) -> ChangeControl:
    """QA's approval (the signer): published for the owning service; a specification's
    is acted on here."""
    by = messages.who(who)
    change = await load(uow, change_control_id)
    info = change.info
    if info.subject_kind is cc.ChangeSubject.SPECIFICATION:
        specs.version(info.subject_id, info.version)  # 404 spec-not-found: not configured
    approved = change.approve(entry.comment, by, uow.clock.now())
    if info.subject_kind is cc.ChangeSubject.SPECIFICATION:
        now = uow.clock.now()
        change.implement(QC_SERVICE, effective_at=now, implemented_at=now, at=now)
    await uow.repository(ChangeControl).save(change, by.model_dump())
    await uow.publish(
        approval_message(change, approved),
        subject=cc.change_subject_key(info.subject_kind, info.subject_id, info.site),
    )
    return change


async def reject_change(
    uow: UnitOfWork, change_control_id: str, entry: RejectionEntry, who: Actor
) -> ChangeControl:
    by = messages.who(who)
    change = await load(uow, change_control_id)
    change.reject(entry.reason, by, uow.clock.now())
    await uow.repository(ChangeControl).save(change, by.model_dump())
    return change


async def note_implemented(uow: UnitOfWork, message: cc.ChangeControlImplemented) -> None:
    """The owning service acted on an approval (a repeat, or a report of a change control
    QC does not know, changes nothing: logged)."""
    change = await uow.repository(ChangeControl).find(message.change_control_id)
    if change is None:
        log.warning(
            "implementation of an unknown change control",
            extra={"change_control_id": message.change_control_id},
        )
        return
    if change.implement("batch", message.effective_at, message.implemented_at, uow.clock.now()):
        await uow.repository(ChangeControl).save(change, BATCH.model_dump())


def approval_message(
    change: ChangeControl, approved: ChangeControlApproved
) -> cc.ChangeControlApproved:
    info = change.info
    return cc.ChangeControlApproved(
        change_control_id=change.id,
        subject_kind=info.subject_kind,
        subject_id=info.subject_id,
        site=info.site,
        version=info.version,
        description=info.description,
        approved_at=approved.approved_at,
        actor=messages.actor(approved.approved_by),
    )
