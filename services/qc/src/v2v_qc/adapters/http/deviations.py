"""HTTP: deviations — opening, the views (one, a CoI's / lot's / batch's / instrument's, the
overdue view, the policy), QA's triage and closure (signed). The steps in between:
deviation_lifecycle.py."""

from __future__ import annotations

from fastapi import APIRouter

from v2v_runtime.errors import DomainError
from v2v_runtime.http_deps import Kit, NewUow, SigningGate

from ...application.deviation_views import DeviationView, OverdueView
from ...application.deviations import (
    ClassificationEntry,
    ClosureEntry,
    DeviationEntry,
    classify_deviation,
    close_deviation,
    open_deviation,
)
from ...application.overdue import overdue
from ...domain.deviation_policy import DeviationPolicy
from ..db.deviation_queries import deviation_view, deviation_views, unfinished_deviations
from .access import QualityUnit, Reader, Reporter, require_lot, sees_deviation
from .deviation_acts import WithSignature, signed_deviation_act, subject, visible_deviation
from .signing import SiteZone


class SignedClosure(ClosureEntry, WithSignature):
    """QA's closure, signed."""


class SignedClassification(ClassificationEntry, WithSignature):
    """QA's triage (or a later classification), signed."""


def deviations_router(policy: DeviationPolicy) -> APIRouter:
    router = APIRouter(tags=["deviations"])

    @router.get("/deviations")
    async def list_deviations(
        kit: Kit,
        caller: Reader,
        zone: SiteZone,
        coi: str | None = None,
        lot_id: str | None = None,
        equipment_id: str | None = None,
        batch_id: str | None = None,
        source: str | None = None,
        unit_id: str | None = None,
        shipment_id: str | None = None,
        material_lot_id: str | None = None,
    ) -> list[DeviationView]:
        """Deviations of a CoI, lot, batch, instrument, source, unit, shipment or material
        lot, matching every filter given (a deviation on batches, e.g. an instrument found out
        of tolerance or an environmental monitoring excursion, is found by each CoI, lot and
        batch it names; one raised by a refused receipt or a shipment's excursion by its CoI,
        units and shipment)."""
        filters = {
            "coi": coi,
            "lot_id": lot_id,
            "equipment_id": equipment_id,
            "batch_id": batch_id,
            "source": source,
            "unit_id": unit_id,
            "shipment_id": shipment_id,
            "material_lot_id": material_lot_id,
        }
        if all(v is None for v in filters.values()):
            raise DomainError("filter-required", f"give one of {', '.join(filters)}")
        async with kit.sessions() as session:
            found = await deviation_views(session, policy, time_zone=zone, **filters)
            return [d for d in found if await sees_deviation(session, caller, d)]

    @router.get("/deviations/overdue")
    async def list_overdue(kit: Kit, caller: Reader) -> OverdueView:
        """What is late on the deviations the caller sees, why and by how much: a closure
        target passed while open, a reportable deviation's report due and not recorded, a
        CAPA action not done by its due date, an effectiveness check past due."""
        async with kit.sessions() as session:
            found = await unfinished_deviations(session, policy)
            seen = [d for d in found if await sees_deviation(session, caller, d)]
        return overdue(seen, policy.local_date(kit.clock.now()), policy)

    @router.get("/deviation-policy")
    async def get_policy(caller: Reader) -> DeviationPolicy:
        """The deviation policy in force: closure targets per class (working days), holidays,
        the report's clock (calendar days), the root-cause categories, the time zone."""
        return policy

    @router.get("/deviations/{deviation_id}")
    async def get_deviation(
        kit: Kit, caller: Reader, zone: SiteZone, deviation_id: str
    ) -> DeviationView:
        """A deviation: its state and what may come next, its timeline, each step's record,
        its CAPA actions, due dates and QA's signatures."""
        async with kit.sessions() as session:
            return await visible_deviation(session, caller, deviation_id, policy, zone)

    @router.post("/deviations", status_code=201)
    async def post_deviation(uow: NewUow, entry: DeviationEntry, caller: Reporter) -> DeviationView:
        """Open a deviation against a lot QC knows (e.g. a temperature excursion)."""
        async with uow:
            await require_lot(uow.session, caller, entry.lot_id)
            deviation = await open_deviation(uow, entry, caller.actor)
            view = await deviation_view(uow.session, deviation.id, policy)
        assert view is not None
        return view

    @router.post("/deviations/{deviation_id}/classification")
    async def post_classification(
        uow: NewUow,
        signing: SigningGate,
        zone: SiteZone,
        deviation_id: str,
        entry: SignedClassification,
        caller: QualityUnit,
    ) -> DeviationView:
        """QA (role qa-reviewer) triages a deviation — confirming or changing the class its
        opener proposed, with a rationale, and flagging it reportable or not (with why) —
        signed (meaning approved); again if the investigation changes it, while it is open.
        The closure target follows the class. An open critical or major deviation blocks
        the lot's release. Who opened it cannot classify it."""
        return await signed_deviation_act(
            uow,
            signing,
            caller,
            deviation_id,
            policy,
            zone,
            entry,
            statement=lambda d: (
                f"I classify deviation {d.deviation_id} of {subject(d)} as "
                f"{entry.classification.value}"
                + ("" if entry.reportable is None else f", {_reportable(entry.reportable)}")
                + "."
            ),
            act=lambda who: classify_deviation(uow, policy, deviation_id, entry, who),
            check=lambda dev, _: dev.check_classification(
                entry.classification, entry.reportable, entry.reportable_reason
            ),
            shown=lambda d: {"proposed_classification": d.proposed_classification.value},
        )

    @router.post("/deviations/{deviation_id}/close")
    async def post_closure(
        uow: NewUow,
        signing: SigningGate,
        zone: SiteZone,
        deviation_id: str,
        entry: SignedClosure,
        caller: QualityUnit,
    ) -> DeviationView:
        """QA (role qa-reviewer) closes a deviation, signed (meaning approved; without a
        signature: 428 with the content to sign): once its CAPA is implemented (with the
        date its effectiveness is checked, unless the plan set it), or after its
        investigation with a justification that no CAPA is needed. It no longer blocks
        release. Who opened it cannot close it."""
        return await signed_deviation_act(
            uow,
            signing,
            caller,
            deviation_id,
            policy,
            zone,
            entry,
            statement=lambda d: (
                f"I approve the closure of deviation {d.deviation_id} "
                f"({d.classification.value}) of {subject(d)}"
                + (", no CAPA needed." if d.capa is None else ", its CAPA implemented.")
            ),
            act=lambda who: close_deviation(uow, policy, deviation_id, entry, who),
            check=lambda dev, today: dev.check_closure(
                entry.no_capa_justification, entry.effectiveness_check_due, today
            ),
        )

    return router


def _reportable(flag: bool) -> str:
    return "reportable to the authority" if flag else "not reportable"
