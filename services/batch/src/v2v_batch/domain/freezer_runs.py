"""Controlled-rate freezer runs of a batch executed from its MBR (issue 14 §1): the run
belongs to the MBR step that uses a controlled-rate freezer; its curve is checked as
entered and compared with the profile's band; outside it (or stopped before the programme's
end) the run records an exception — announced to QC, dispositioned by QA before the review
like any other.

The bags: a run is entered when the freezer's curve is available, usually before the lot
exists (the lot is produced after the last step of the MBR); it then names how many bags it
froze (at most the product's ``max_bags_per_lot``), which are the lot's once produced. Once
the lot exists, a run names the bags themselves: bags of this batch's lot, each frozen by
one run only.

``RecordsFreezerRuns`` is the part of the Batch aggregate that does this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from v2v_runtime.domain import DomainEvent
from v2v_runtime.errors import Conflict

from .entries import EntryRefused
from .events import Operator
from .execution_events import BatchExceptionRaised, ExceptionKind
from .freezer_curve import (
    BandComparison,
    CurvePoint,
    band_text,
    checked_curve,
    compare,
    minutes,
)
from .freezer_run_events import FreezerRunRecorded
from .freezing_profile import FreezingProfile, ProbeRange
from .mbr_content import MbrContent, MbrStep, ParameterType
from .product import ProductSpec
from .record_review import ReviewsMbrRecord

FREEZER_TYPE = "controlled-rate-freezer"
# A choice parameter of this name on the freezing step lists the profiles its MBR validated.
PROFILE_PARAMETER = "profile"


@dataclass(frozen=True)
class FreezerRunEntry:
    equipment_id: str
    profile_id: str
    started_at: datetime
    ended_at: datetime
    curve: tuple[CurvePoint, ...]
    bag_ids: tuple[str, ...] = ()
    bag_count: int | None = None
    step_id: str | None = None  # needed only when several MBR steps use the freezer
    comment: str | None = None


@dataclass(frozen=True)
class CheckedRun:
    step: MbrStep
    curve: tuple[CurvePoint, ...]
    bag_ids: tuple[str, ...]
    bag_count: int
    lot_id: str | None
    comparison: BandComparison


def freezing_step(content: MbrContent, step_id: str | None) -> MbrStep:
    """The MBR step a run belongs to: ``step_id``, or the only one using the freezer."""
    steps = [s for s in content.steps if FREEZER_TYPE in s.equipment_types]
    if step_id is not None:
        found = next((s for s in steps if s.step_id == step_id), None)
        if found is None:
            raise EntryRefused(
                "not-a-freezing-step", "step_id", f"no step {step_id!r} of the MBR uses a freezer"
            )
        return found
    if not steps:
        raise Conflict(
            "mbr-has-no-freezing-step", f"no step of the batch's MBR uses a {FREEZER_TYPE}"
        )
    if len(steps) > 1:
        names = ", ".join(s.step_id for s in steps)
        raise EntryRefused("step-id-required", "step_id", f"several steps use a freezer: {names}")
    return steps[0]


def _check_profile_named(step: MbrStep, profile: FreezingProfile) -> None:
    p = step.parameter(PROFILE_PARAMETER)
    if p is not None and p.type is ParameterType.CHOICE and profile.profile_id not in p.choices:
        raise EntryRefused(
            "profile-not-in-mbr",
            "profile_id",
            f"{step.name} runs profile {', '.join(p.choices)}, not {profile.profile_id}",
        )


@dataclass(frozen=True)
class OutOfBand:
    """What the exception of a run out of its band says."""

    parameter: str | None
    value: str
    limit: str
    detail: str


def out_of_band(
    run_id: str, equipment_id: str, profile: FreezingProfile, result: BandComparison
) -> OutOfBand:
    """The worst reading (the probe, its temperature and time, the band then) — or, for a
    curve in band that stopped early, where it ended — and the first and worst excursions."""
    parts = []
    worst, first = result.worst, result.first
    if worst is not None and first is not None:
        w = worst.worst
        parameter: str | None = f"{w.probe.value}_c"
        value = f"{w.temperature_c:g} °C at {minutes(w.offset_s)}"
        limit = band_text(w.lower_c, w.upper_c)
        parts.append(
            f"{len(result.excursions)} excursion(s) outside the band; first: "
            f"{first.first.text()}; worst: {w.text()}"
        )
    else:
        parameter = None
        value = f"curve ends at {minutes(result.curve_ends_s)}"
        limit = f"programme of {minutes(result.programmed_s)}"
    if not result.completed:
        parts.append(
            f"the curve ends at {minutes(result.curve_ends_s)}, before the programme's end at "
            f"{minutes(result.programmed_s)}"
        )
    detail = (
        f"Freezer run {run_id} on {equipment_id} with profile {profile.profile_id} "
        f"({profile.profile_version}): " + "; ".join(parts)
    )
    return OutOfBand(parameter, value, limit, detail)


class RecordsFreezerRuns(ReviewsMbrRecord):
    spec: ProductSpec | None

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.freezer_runs: dict[str, FreezerRunRecorded] = {}

    def check_freezer_run(
        self,
        content: MbrContent,
        entry: FreezerRunEntry,
        profile: FreezingProfile,
        probe_range: ProbeRange,
        *,
        now: datetime,
    ) -> CheckedRun:
        """The run as it would be recorded now, compared with its band; refused before
        signing (409 for a reviewed record or an MBR without a freezing step, else 422
        naming the field)."""
        self._open_record(content)
        step = freezing_step(content, entry.step_id)
        _check_profile_named(step, profile)
        if entry.ended_at <= entry.started_at:
            raise EntryRefused("run-ends-before-it-starts", "ended_at", "not after started_at")
        if entry.ended_at > now:
            raise EntryRefused("run-ends-in-the-future", "ended_at", "a run is recorded once ended")
        assert self.opened_at is not None
        if entry.started_at < self.opened_at:
            raise EntryRefused(
                "run-starts-before-batch-opened",
                "started_at",
                f"before the batch opened at {self.opened_at.isoformat()}",
            )
        run_s = (entry.ended_at - entry.started_at).total_seconds()
        curve = checked_curve(entry.curve, profile, probe_range, run_s)
        bag_ids, bag_count, lot_id = self._bags(entry)
        return CheckedRun(step, curve, bag_ids, bag_count, lot_id, compare(profile, curve))

    def _bags(self, entry: FreezerRunEntry) -> tuple[tuple[str, ...], int, str | None]:
        """(bag ids, bag count, lot id) of the run."""
        if self.lot is None:
            assert self.spec is not None
            most = self.spec.max_bags_per_lot
            if entry.bag_ids:
                raise EntryRefused(
                    "bag-not-in-batch",
                    "bag_ids[0]",
                    f"batch {self.id} has produced no lot, so no bags yet: give bag_count",
                )
            if entry.bag_count is None:
                raise EntryRefused("bag-count-required", "bag_count", "how many bags it froze")
            if not 1 <= entry.bag_count <= most:
                raise EntryRefused(
                    "bag-count-out-of-range", "bag_count", f"1 to {most} bags (the product's)"
                )
            return (), entry.bag_count, None
        lot = self.lot
        if not entry.bag_ids:
            raise EntryRefused(
                "bag-ids-required", "bag_ids", f"lot {lot.lot_id} exists: name the bags frozen"
            )
        frozen = {b: r.run_id for r in self.freezer_runs.values() for b in r.bag_ids}
        for i, bag in enumerate(entry.bag_ids):
            where = f"bag_ids[{i}]"
            if bag not in lot.bag_ids:
                raise EntryRefused(
                    "bag-not-in-batch", where, f"{bag!r} is not a bag of lot {lot.lot_id}"
                )
            if bag in entry.bag_ids[:i]:
                raise EntryRefused("bag-named-twice", where, f"{bag} is named twice")
            if bag in frozen:
                raise EntryRefused(
                    "bag-already-frozen", where, f"{bag} was frozen by run {frozen[bag]}"
                )
        if entry.bag_count is not None and entry.bag_count != len(entry.bag_ids):
            raise EntryRefused(
                "bag-count-mismatch", "bag_count", f"{len(entry.bag_ids)} bags are named"
            )
        return entry.bag_ids, len(entry.bag_ids), lot.lot_id

    def record_freezer_run(
        self,
        content: MbrContent,
        entry: FreezerRunEntry,
        profile: FreezingProfile,
        probe_range: ProbeRange,
        *,
        run_id: str,
        now: datetime,
        late: bool,
        performed_by: Operator,
        signature_id: str,
        new_id: Callable[[], str],
    ) -> tuple[FreezerRunRecorded, BatchExceptionRaised | None]:
        """Record the run as its performer signed it; the exception when out of band."""
        run = self.check_freezer_run(content, entry, profile, probe_range, now=now)
        result = run.comparison
        exception_id = None if result.in_band else new_id()
        recorded = FreezerRunRecorded(
            run_id=run_id,
            step_id=run.step.step_id,
            equipment_id=entry.equipment_id,
            profile=profile,
            started_at=entry.started_at,
            ended_at=entry.ended_at,
            curve=run.curve,
            bag_ids=run.bag_ids,
            bag_count=run.bag_count,
            lot_id=run.lot_id,
            comparison=result,
            exception_id=exception_id,
            comment=entry.comment,
            recorded_at=now,
            late=late,
            performed_by=performed_by,
            signature_id=signature_id,
        )
        self._record(recorded)
        if exception_id is None:
            return recorded, None
        text = out_of_band(run_id, entry.equipment_id, profile, result)
        raised = self._raise(
            BatchExceptionRaised(
                exception_id=exception_id,
                step_id=run.step.step_id,
                exception_kind=ExceptionKind.FREEZING_CURVE_OUT_OF_BAND,
                parameter=text.parameter,
                value=text.value,
                limit=text.limit,
                detail=text.detail,
                raised_at=now,
                freezer_run_id=run_id,
            )
        )
        return recorded, raised

    def apply_execution(self, event: DomainEvent) -> bool:
        if isinstance(event, FreezerRunRecorded):
            self.freezer_runs[event.run_id] = event
            return True
        return super().apply_execution(event)
