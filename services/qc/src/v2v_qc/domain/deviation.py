"""Deviations: an unplanned departure (OOS result, excursion, ...) and its lifecycle.

Opened (by anyone doing GMP work, or automatically) with a proposed class; triaged by QA
(classified critical, major or minor with a rationale, flagged reportable or not; signed);
contained (what was done at once, the items concerned); investigated (a root-cause category
from the configured list, and why); then either a CAPA plan approved by QA (signed), its
actions done and the deviation implemented, or closure with a justification that no CAPA is
needed; closed by QA (signed); a CAPA's effectiveness checked by QA after closure (signed).
The order is a table (deviation_states.py). An open deviation classified — or, until QA
did, proposed — critical or major blocks the release of its lot. Who opened a deviation
neither triages it, approves its CAPA plan, closes it nor checks its CAPA's effectiveness.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from v2v_runtime.errors import Conflict, DomainError

from .common import QA_REVIEWER, Who, require_role
from .deviation_policy import DeviationPolicy
from .deviation_states import Act
from .deviation_steps import DeviationSteps
from .events import (
    Classification,
    DeviationBatch,
    DeviationClassified,
    DeviationLotAffected,
    DeviationOpened,
    DeviationState,
    Failure,
)

BLOCKING = frozenset({Classification.CRITICAL, Classification.MAJOR})
OOS_SOURCE = "OOS"
EQUIPMENT_SOURCE = "equipment"
BATCH_EXCEPTION_SOURCE = "batch-exception"
ENVIRONMENT_SOURCE = "environmental-monitoring"
THAW_LIMIT_SOURCE = "thaw-to-infusion-limit"  # a late infusion (custody's flag)
FOLLOW_UP_SOURCE = "capa-not-effective"
CONDITIONAL_RELEASE_SOURCE = "conditional-release-failed"  # a pending result out of limit
# raised over Kafka from custody, logistics, batch's materials and the journey
CUSTODY_MISMATCH_SOURCE = "custody-mismatch"
SHIPMENT_EXCURSION_SOURCE = "shipment-excursion"
MATERIAL_SOURCE = "material-out-of-status"
DEADLINE_SOURCE = "deadline-missed"


def oos_description(failures: Sequence[Failure]) -> str:
    listed = "; ".join(f"{f.code} {f.value} (limit {f.limit})" for f in failures)
    return f"Out of specification: {listed}"


class Deviation(DeviationSteps):
    @classmethod
    def open(
        cls,
        deviation_id: str,
        *,
        coi: str,
        lot_id: str,
        classification: Classification,
        source: str,
        description: str,
        by: Who,
        at: datetime,
        panel_id: str | None = None,
    ) -> Deviation:
        dev = cls(deviation_id)
        dev._record(
            DeviationOpened(
                deviation_id=deviation_id,
                coi=coi,
                lot_id=lot_id,
                panel_id=panel_id,
                classification=classification,
                source=source,
                description=description,
                opened_at=at,
                opened_by=by,
            )
        )
        return dev

    @classmethod
    def open_for_oos(
        cls,
        deviation_id: str,
        *,
        coi: str,
        lot_id: str,
        panel_id: str,
        failures: Sequence[Failure],
        by: Who,
        at: datetime,
        classification: Classification = Classification.MAJOR,
    ) -> Deviation:
        """An out-of-specification result opens a deviation, major unless triaged higher."""
        return cls.open(
            deviation_id,
            coi=coi,
            lot_id=lot_id,
            panel_id=panel_id,
            classification=classification,
            source=OOS_SOURCE,
            description=oos_description(failures),
            by=by,
            at=at,
        )

    @classmethod
    def open_on_batches(
        cls,
        deviation_id: str,
        *,
        source: str,
        classification: Classification,
        description: str,
        site: str,
        equipment_id: str | None,
        batches: Sequence[DeviationBatch],
        by: Who,
        at: datetime,
        material_lot_id: str | None = None,
    ) -> Deviation:
        """A deviation on batches, not one lot: the lots they made are linked as QC learns
        of them (``affect_lot``), and wait for it."""
        dev = cls(deviation_id)
        dev._record(
            DeviationOpened(
                deviation_id=deviation_id,
                coi=None,
                lot_id=None,
                classification=classification,
                source=source,
                description=description,
                opened_at=at,
                opened_by=by,
                site=site,
                equipment_id=equipment_id,
                batches=list(batches),
                material_lot_id=material_lot_id,
            )
        )
        return dev

    @classmethod
    def open_on_chain(
        cls,
        deviation_id: str,
        *,
        coi: str,
        source: str,
        classification: Classification,
        description: str,
        site: str | None,
        unit_ids: Sequence[str] = (),
        shipment_id: str | None = None,
        batches: Sequence[DeviationBatch] = (),
        by: Who,
        at: datetime,
    ) -> Deviation:
        """A deviation on a chain of identity with no lot of its own (an apheresis unit
        refused at receipt, a shipment's excursion, a missed deadline), seen at ``site``.
        ``batches``: those whose lots it concerns (the lot the units are bags of), linked
        like the lots of a deviation on batches (``affect_lot``)."""
        if any(b.coi != coi for b in batches):
            raise ValueError(f"deviation {deviation_id} names a batch of another chain")
        dev = cls(deviation_id)
        dev._record(
            DeviationOpened(
                deviation_id=deviation_id,
                coi=coi,
                lot_id=None,
                classification=classification,
                source=source,
                description=description,
                opened_at=at,
                opened_by=by,
                site=site,
                batches=list(batches),
                unit_ids=list(dict.fromkeys(unit_ids)),
                shipment_id=shipment_id,
            )
        )
        return dev

    def affect_lot(self, batch_id: str, lot_id: str, coi: str) -> bool:
        """Link the lot of a batch this deviation names (False: linked already, or a batch
        it does not name)."""
        named = {b.batch_id: b.coi for b in self.info.batches}
        if named.get(batch_id) != coi or lot_id in self.affected_lots:
            return False
        self._record(
            DeviationLotAffected(deviation_id=self.id, batch_id=batch_id, lot_id=lot_id, coi=coi)
        )
        return True

    def follow_up(self, deviation_id: str, narrative: str, by: Who, at: datetime) -> Deviation:
        """The deviation opened when this one's CAPA was found not effective: on the same lot
        or batches, proposed the same class (its lots are linked by the application)."""
        info = self.info
        description = f"The CAPA of deviation {self.id} was found not effective: {narrative}"
        if info.lot_id is not None and info.coi is not None:
            return Deviation.open(
                deviation_id,
                coi=info.coi,
                lot_id=info.lot_id,
                panel_id=info.panel_id,
                classification=self.classification,
                source=FOLLOW_UP_SOURCE,
                description=description,
                by=by,
                at=at,
            )
        return Deviation.open_on_batches(
            deviation_id,
            source=FOLLOW_UP_SOURCE,
            classification=self.classification,
            description=description,
            site=info.site or "",
            equipment_id=info.equipment_id,
            batches=info.batches,
            by=by,
            at=at,
        )

    # -- triage ----------------------------------------------------------------------------

    def check_classification(
        self, classification: Classification, reportable: bool | None, reason: str | None
    ) -> None:
        """The state allows it, a reportable flag has its reason, and something changes."""
        self.expect(Act.CLASSIFICATION)
        if reportable and not (reason or "").strip():
            raise DomainError(
                "reportable-reason-required",
                "a deviation flagged reportable says why (reportable_reason)",
                field="reportable_reason",
            )
        flag = self.reportable if reportable is None else reportable
        if (
            self.classified is not None
            and self.classification is classification
            and flag == self.reportable
        ):
            raise Conflict(
                "deviation-already-classified",
                f"deviation {self.id} is already classified {classification.value}",
            )

    def classify(
        self,
        classification: Classification,
        rationale: str,
        by: Who,
        at: datetime,
        policy: DeviationPolicy,
        *,
        reportable: bool | None = None,
        reportable_reason: str | None = None,
    ) -> DeviationClassified:
        """QA triages the deviation (confirming or changing the proposed class, flagging it
        reportable or not: None keeps the flag), or classifies it again while it is open.
        The closure target follows the class; a reportable one's report is due from its
        discovery (the opening)."""
        require_role(by, QA_REVIEWER, "classifying a deviation")
        self.expect(Act.CLASSIFICATION)
        self._check_not_author(by, "classification-by-author", "classifies")
        self.check_classification(classification, reportable, reportable_reason)
        flag = self.reportable if reportable is None else reportable
        opened_at = self.info.opened_at
        event = DeviationClassified(
            deviation_id=self.id,
            classification=classification,
            previous=self.classification,
            reason=rationale,
            classified_at=at,
            classified_by=by,
            previous_state=self.state if self.state is DeviationState.OPENED else None,
            reportable=flag,
            previous_reportable=None if self.classified is None else self.reportable,
            reportable_reason=(
                reportable_reason
                if reportable is not None or self.classified is None
                else self.classified.reportable_reason
            ),
            closure_due=policy.closure_due(opened_at, classification),
            report_due=policy.report_due(opened_at) if flag else None,
        )
        self._record(event)
        return event
