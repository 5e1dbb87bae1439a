"""HTTP: the steps of a deviation between its triage and closure, and after: containment
and investigation (an investigator: QA, the QC reviewer or the manufacturing supervisor),
QA's approval of the CAPA plan (signed), each CAPA action done (its owner or QA), QA's
effectiveness check (signed) and the regulatory report as submitted (QA, signed)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter

from v2v_runtime.authz import Caller, allowed
from v2v_runtime.http_deps import NewUow, SigningGate
from v2v_runtime.uow import UnitOfWork

from ...application.capa import (
    ActionDoneEntry,
    CapaPlanEntry,
    EffectivenessEntry,
    approve_capa_plan,
    check_effectiveness,
    complete_capa_action,
)
from ...application.deviation_steps import (
    ContainmentEntry,
    InvestigationEntry,
    ReportEntry,
    contain_deviation,
    investigate_deviation,
    record_report,
)
from ...application.deviation_views import DeviationView
from ...domain.common import INVESTIGATORS
from ...domain.deviation import Deviation
from ...domain.deviation_capa import check_plan
from ...domain.deviation_policy import DeviationPolicy
from ...domain.deviation_states import Act
from ..db.deviation_queries import deviation_view
from .access import QualityUnit, Reporter
from .deviation_acts import WithSignature, signed_deviation_act, subject, visible_deviation
from .signing import SiteZone

Investigator = Annotated[Caller, allowed(*INVESTIGATORS)]


class SignedCapaPlan(CapaPlanEntry, WithSignature):
    """QA's approval of the CAPA plan, signed."""


class SignedEffectiveness(EffectivenessEntry, WithSignature):
    """QA's effectiveness check, signed."""


class SignedReport(ReportEntry, WithSignature):
    """QA's record of the regulatory report, signed."""


async def _after(
    uow: UnitOfWork, policy: DeviationPolicy, deviation_id: str, zone: str
) -> DeviationView:
    view = await deviation_view(uow.session, deviation_id, policy, zone)
    assert view is not None
    return view


def deviation_lifecycle_router(policy: DeviationPolicy) -> APIRouter:
    router = APIRouter(tags=["deviations"])

    @router.post("/deviations/{deviation_id}/containment")
    async def post_containment(
        uow: NewUow,
        zone: SiteZone,
        deviation_id: str,
        entry: ContainmentEntry,
        caller: Investigator,
    ) -> DeviationView:
        """An investigator records the containment of a triaged deviation: what was done at
        once, and the items it concerns (its own lots are added). Holds on them are the
        hold contract's (not placed by this version)."""
        async with uow:
            await visible_deviation(uow.session, caller, deviation_id, policy)
            await contain_deviation(uow, deviation_id, entry, caller.actor)
            return await _after(uow, policy, deviation_id, zone)

    @router.post("/deviations/{deviation_id}/investigation")
    async def post_investigation(
        uow: NewUow,
        zone: SiteZone,
        deviation_id: str,
        entry: InvestigationEntry,
        caller: Investigator,
    ) -> DeviationView:
        """An investigator records the investigation of a contained deviation: its root-cause
        category (one of the policy's, GET /deviation-policy) and narrative."""
        async with uow:
            await visible_deviation(uow.session, caller, deviation_id, policy)
            await investigate_deviation(uow, policy, deviation_id, entry, caller.actor)
            return await _after(uow, policy, deviation_id, zone)

    @router.post("/deviations/{deviation_id}/capa-plan")
    async def post_capa_plan(
        uow: NewUow,
        signing: SigningGate,
        zone: SiteZone,
        deviation_id: str,
        entry: SignedCapaPlan,
        caller: QualityUnit,
    ) -> DeviationView:
        """QA (role qa-reviewer) approves the CAPA plan of an investigated deviation, signed
        (meaning approved): its actions, each with description, owner (user id), due date
        (not in the past) and kind (corrective or preventive), and when its effectiveness is
        checked (optional here; else at closure). Who opened the deviation cannot."""

        def check(deviation: Deviation, today: date) -> None:
            deviation.expect(Act.CAPA_PLAN)
            check_plan(entry.planned(), entry.effectiveness_check_due, today)

        return await signed_deviation_act(
            uow,
            signing,
            caller,
            deviation_id,
            policy,
            zone,
            entry,
            statement=lambda d: (
                f"I approve the CAPA plan of deviation {d.deviation_id} of {subject(d)}: "
                f"{len(entry.actions)} action(s)."
            ),
            act=lambda who: approve_capa_plan(uow, policy, deviation_id, entry, who),
            check=check,
        )

    @router.post("/deviations/{deviation_id}/capa-actions/{action_id}/done")
    async def post_action_done(
        uow: NewUow,
        zone: SiteZone,
        deviation_id: str,
        action_id: str,
        entry: ActionDoneEntry,
        caller: Reporter,
    ) -> DeviationView:
        """The owner of a CAPA action (or QA) marks it done, with a reference to its
        evidence; with the last one the deviation is implemented."""
        async with uow:
            await visible_deviation(uow.session, caller, deviation_id, policy)
            await complete_capa_action(uow, deviation_id, action_id, entry, caller.actor)
            return await _after(uow, policy, deviation_id, zone)

    @router.post("/deviations/{deviation_id}/effectiveness-check")
    async def post_effectiveness(
        uow: NewUow,
        signing: SigningGate,
        zone: SiteZone,
        deviation_id: str,
        entry: SignedEffectiveness,
        caller: QualityUnit,
    ) -> DeviationView:
        """QA (role qa-reviewer) records whether the CAPA of a closed deviation was effective,
        with a narrative, signed (meaning approved). Not effective opens a follow-up
        deviation on the same lot or batches (``effectiveness.follow_up_deviation_id``). Who
        opened the deviation cannot."""
        return await signed_deviation_act(
            uow,
            signing,
            caller,
            deviation_id,
            policy,
            zone,
            entry,
            statement=lambda d: (
                f"I approve the effectiveness check of the CAPA of deviation {d.deviation_id} "
                f"of {subject(d)}: {entry.result.value}."
            ),
            act=lambda who: check_effectiveness(uow, deviation_id, entry, who),
            check=lambda dev, _: dev.expect(Act.EFFECTIVENESS_CHECK),
        )

    @router.post("/deviations/{deviation_id}/regulatory-report")
    async def post_report(
        uow: NewUow,
        signing: SigningGate,
        zone: SiteZone,
        deviation_id: str,
        entry: SignedReport,
        caller: QualityUnit,
    ) -> DeviationView:
        """QA (role qa-reviewer) records the regulatory report of a reportable deviation as
        submitted — its reference and the date — signed (meaning approved); once."""
        return await signed_deviation_act(
            uow,
            signing,
            caller,
            deviation_id,
            policy,
            zone,
            entry,
            statement=lambda d: (
                f"I approve the record that the report of deviation {d.deviation_id} was "
                f"submitted on {entry.submitted_on.isoformat()} ({entry.reference})."
            ),
            act=lambda who: record_report(uow, policy, deviation_id, entry, who),
            check=lambda dev, today: dev.check_report(entry.submitted_on, today),
        )

    return router
