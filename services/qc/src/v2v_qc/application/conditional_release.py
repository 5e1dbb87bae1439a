"""A conditionally released lot when a result it waited for lands (record_result.py calls
``after_result``):

- within its limit, and the last one awaited: the release is final once the QC reviewer has
  reviewed the results (review_panel.py calls ``after_review``; ``qc.lot.release-finalized``,
  by the reviewer);
- outside its limit: at once a critical deviation on the lot (source
  ``conditional-release-failed``), the treatment center and the treating physician notified
  (the critical chain: acknowledged or escalated), and — unless custody has infused the lot
  already — a hold on the lot, so custody refuses its thaw and infusion. QA decides from
  there (the deviation's lifecycle, the hold's release).

QC learns infusions from custody's ``infusion.recorded`` (``note_infusion``)."""

from __future__ import annotations

from datetime import datetime

from v2v_events.contracts import qc as c
from v2v_events.contracts.custody import InfusionRecorded
from v2v_runtime.authz import Roles
from v2v_runtime.uow import UnitOfWork

from ..domain.common import EVALUATOR, Who
from ..domain.deviation import CONDITIONAL_RELEASE_SOURCE, Deviation
from ..domain.deviation_events import AffectedItem, AffectedKind
from ..domain.events import Classification, ResultRecorded
from ..domain.lot import Lot, lot_stream
from ..domain.notification_events import Trigger
from ..domain.panel import Panel
from ..domain.release_events import ConditionalReleaseFailed, ReleaseFinalized
from . import messages
from .holds import hold_for_containment
from .notify import Notice, notify
from .patient_center import treatment_center
from .ports import NotificationDirectory

TREATING_PHYSICIAN = "treating-physician"  # a role of the site's notification routing


async def after_result(uow: UnitOfWork, panel: Panel, lot: Lot, event: ResultRecorded) -> None:
    if not lot.awaits(event.test_code):
        return
    now = uow.clock.now()
    if not event.within_limit:
        await _failed(uow, panel, lot, event.test_code, now)
    # Within its limit: the release becomes final once the QC reviewer has reviewed the
    # results as they then stand (after_review), as every result is reviewed before release.


async def after_review(uow: UnitOfWork, panel: Panel, by: Who) -> None:
    """The QC reviewer reviewed ``panel``: a conditional release whose pending results have
    all landed within their limits (none failed: that acts at once) becomes final."""
    lot = await uow.repository(Lot).find(lot_stream(panel.lot_id))
    if lot is None or not lot.awaiting or lot.panel_id != panel.id:
        return
    if any(code not in panel.results for code in lot.pending_tests):
        return  # a pending result still to come: its review comes with it
    finalized = lot.finalize(uow.clock.now())
    await uow.repository(Lot).save(lot, by.model_dump())
    await uow.publish(finalized_message(finalized, by), subject=finalized.coi)


def finalized_message(ev: ReleaseFinalized, by: Who = EVALUATOR) -> c.LotReleaseFinalized:
    return c.LotReleaseFinalized(
        coi=ev.coi,
        lot_id=ev.lot_id,
        certificate_id=ev.certificate_id,
        tests=ev.tests,
        finalized_at=ev.finalized_at,
        actor=messages.actor(by),
    )


async def _failed(uow: UnitOfWork, panel: Panel, lot: Lot, code: str, at: datetime) -> None:
    assert lot.coi is not None and lot.released is not None
    result = panel.results[code]
    test = panel.spec.test(code)
    shown = result.value if result.unit is None else f"{result.value} {result.unit}"
    deviation = Deviation.open(
        uow.ids.new_id(),
        coi=lot.coi,
        lot_id=lot.lot_id,
        panel_id=panel.id,
        classification=Classification.CRITICAL,
        source=CONDITIONAL_RELEASE_SOURCE,
        description=(
            f"Lot {lot.lot_id} was released conditionally (certificate "
            f"{lot.released.certificate.certificate_id}) with {code} pending; its result "
            f"{shown} is outside the limit ({'' if test is None else test.limit})."
        ),
        by=EVALUATOR,
        at=at,
    )
    lot.link_deviation(lot.coi, deviation.id, Classification.CRITICAL)
    failed = lot.fail_conditionally([code], deviation.id, at)
    system = EVALUATOR.model_dump()
    await uow.repository(Deviation).save(deviation, system)
    await uow.repository(Lot).save(lot, system)
    await uow.publish(messages.deviation_opened(deviation), subject=lot.coi)
    holds = []
    if not failed.infused:  # the product must not be thawed nor infused
        item = AffectedItem(kind=AffectedKind.LOT, id=lot.lot_id)
        holds = await hold_for_containment(uow, deviation, [item], EVALUATOR, at)
    await notify(uow, await _notice(uow, lot, failed, holds), EVALUATOR)


async def _notice(
    uow: UnitOfWork, lot: Lot, failed: ConditionalReleaseFailed, holds: list[str]
) -> Notice:
    """Identifiers only (no free text: it might name the patient)."""
    site = lot.manufacturing_site or await uow.port(NotificationDirectory).lot_site(lot.lot_id)
    center = await treatment_center(uow, lot.coi)  # the patient's own
    action = (
        "The product has been infused: assess the patient."
        if failed.infused
        else f"DO NOT THAW OR INFUSE: the lot is held ({', '.join(holds)})."
    )
    lines = [
        f"A test result of conditionally released lot {lot.lot_id} failed. {action}",
        "",
        f"Lot: {lot.lot_id}",
        f"CoI: {lot.coi}",
        f"Failed test(s): {', '.join(failed.tests)}",
        f"Critical deviation: {failed.deviation_id} (GET /deviations/{failed.deviation_id})",
        f"Site: {site or 'not known'}",
        f"Treatment center: {center or 'not known'}",
    ]
    return Notice(
        trigger=Trigger.CONDITIONAL_RELEASE_FAILED,
        subject=(
            f"[vein2vein] CRITICAL: conditionally released lot {lot.lot_id} failed "
            f"{', '.join(failed.tests)}: acknowledge"
        ),
        body="\n".join(lines),
        site=site,
        roles=(TREATING_PHYSICIAN,),
        # the patient's own center (its routing entry): the physician and the coordinator
        center=center,
        center_roles=(TREATING_PHYSICIAN, Roles.TREATMENT_CENTER_COORDINATOR),
        escalation=Classification.CRITICAL.value,
        deviation_id=failed.deviation_id,
        coi=lot.coi,
    )


async def note_infusion(uow: UnitOfWork, msg: InfusionRecorded) -> None:
    """Custody infused lots: noted on those whose conditional release awaits results."""
    if msg.infusion_id is None:
        return  # a v1 message: no id, no lots
    repo = uow.repository(Lot)
    for lot_id in msg.lot_ids:
        lot = await repo.find(lot_stream(lot_id))
        if lot is not None and lot.note_infused(msg.infusion_id, msg.infused_at):
            await repo.save(lot, messages.who(msg.actor).model_dump())
