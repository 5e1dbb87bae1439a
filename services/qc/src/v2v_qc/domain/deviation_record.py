"""A deviation's state as its events left it, and the checks every act on it shares: the
state it is in (409 out of order) and the segregation of duties (who opened it does not
decide on it). The acts themselves: deviation.py and deviation_capa.py."""

from __future__ import annotations

from datetime import date

from v2v_runtime.domain import Aggregate, DomainEvent

from .common import Forbidden, Who
from .deviation_events import (
    CapaActionDone,
    CapaPlanApproved,
    DeviationContained,
    DeviationImplemented,
    DeviationInvestigated,
    Effectiveness,
    EffectivenessChecked,
    RegulatoryReportRecorded,
)
from .deviation_states import CLOSED_STATES, Act, expect, next_acts
from .events import (
    Classification,
    DeviationClassified,
    DeviationClosed,
    DeviationLotAffected,
    DeviationOpened,
    DeviationState,
)


class DeviationRecord(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.opened: DeviationOpened | None = None
        self.classified: DeviationClassified | None = None  # QA's latest classification
        self.closed: DeviationClosed | None = None
        self.affected_lots: dict[str, str] = {}  # lot id -> CoI, of the batches named
        self.state = DeviationState.OPENED
        self.containment: DeviationContained | None = None
        self.investigation: DeviationInvestigated | None = None
        self.capa: CapaPlanApproved | None = None
        self.done: dict[str, CapaActionDone] = {}
        self.effectiveness: EffectivenessChecked | None = None
        self.report: RegulatoryReportRecorded | None = None

    @property
    def info(self) -> DeviationOpened:
        if self.opened is None:
            raise RuntimeError("deviation not opened")
        return self.opened

    @property
    def classification(self) -> Classification:
        """QA's classification, else the proposed one."""
        if self.classified is not None:
            return self.classified.classification
        return self.info.classification

    @property
    def reportable(self) -> bool:
        return self.classified is not None and self.classified.reportable

    @property
    def is_closed(self) -> bool:
        return self.state in CLOSED_STATES

    @property
    def lots(self) -> list[str]:
        """Every lot the deviation holds: its own, or those of the batches it names."""
        own = [self.info.lot_id] if self.info.lot_id is not None else []
        return [*own, *self.affected_lots]

    @property
    def effectiveness_due(self) -> date | None:
        """When the CAPA's effectiveness is to be checked: set at closure, else by the plan."""
        if self.closed is not None and self.closed.effectiveness_due is not None:
            return self.closed.effectiveness_due
        return None if self.capa is None else self.capa.effectiveness_due

    @property
    def allowed_next(self) -> list[Act]:
        return next_acts(self.state, self.capa is not None)

    def expect(self, act: Act) -> None:
        """409 unless ``act`` may come next (checked before anyone is asked to sign)."""
        expect(self.id, self.state, self.capa is not None, act)

    def apply(self, event: DomainEvent) -> None:
        match event:
            case DeviationOpened():
                self.opened = event
            case DeviationClassified():
                self.classified = event
                if self.state is DeviationState.OPENED:
                    self.state = DeviationState.TRIAGED
            case DeviationLotAffected():
                self.affected_lots[event.lot_id] = event.coi
            case DeviationContained():
                self.containment = event
                self.state = DeviationState.CONTAINED
            case DeviationInvestigated():
                self.investigation = event
                self.state = DeviationState.INVESTIGATED
            case CapaPlanApproved():
                self.capa = event
                self.state = DeviationState.CAPA_APPROVED
            case CapaActionDone():
                self.done[event.action_id] = event
            case DeviationImplemented():
                self.state = DeviationState.IMPLEMENTED
            case DeviationClosed():
                self.closed = event
                self.state = DeviationState.CLOSED
            case EffectivenessChecked():
                self.effectiveness = event
                self.state = (
                    DeviationState.EFFECTIVE
                    if event.result is Effectiveness.EFFECTIVE
                    else DeviationState.NOT_EFFECTIVE
                )
            case RegulatoryReportRecorded():
                self.report = event
            case _:
                raise TypeError(f"deviation cannot apply {type(event).__name__}")

    def _check_not_author(self, by: Who, code: str, does: str) -> None:
        if self.opened is not None and self.opened.opened_by.user_id == by.user_id:
            # Segregation of duties: who raised a deviation does not decide on it.
            raise Forbidden(
                code,
                f"{by.user_id} opened deviation {self.id}: another QA reviewer {does} it",
            )
