"""The Room aggregate: a clean room in the register (id as step entries name it, name,
EU GMP Annex 1 grade, site) and the environmental monitoring results recorded in it, each
classified against the site's programme when recorded (EU GMP Annex 1 §9).

A result is never edited: a correction is an event of its own, keeping the old value, and
the result is classified again against the limits recorded with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError, NotFound

from .checks import check_pattern, check_text
from .em_limits import EmProgramme, Grade, Level, Occupancy, check_value, classify
from .room_events import EmResultCorrected, EmResultRecorded, RoomRegistered

STREAM_PREFIX = "room-"
ROOM_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"  # e.g. GRADE-B-SUITE-2
SAMPLE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"  # the plate's or reading's label


@dataclass
class EmResult:
    """A result as it stands: as recorded, with its corrections."""

    recorded: EmResultRecorded
    corrections: list[EmResultCorrected] = field(default_factory=list)

    @property
    def value(self) -> float:
        return self.corrections[-1].new_value if self.corrections else self.recorded.value

    @property
    def level(self) -> Level:
        return self.corrections[-1].new_level if self.corrections else self.recorded.level

    @property
    def ever_action(self) -> bool:
        """Classified an action excursion at some point (its deviation was asked for)."""
        levels = [self.recorded.level, *(c.new_level for c in self.corrections)]
        return Level.ACTION in levels


class Room(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.registered: RoomRegistered | None = None
        self.results: dict[str, EmResult] = {}
        self.samples: dict[str, str] = {}  # sample id -> result id

    @staticmethod
    def stream_for(room_id: str) -> str:
        return STREAM_PREFIX + room_id

    @property
    def room_id(self) -> str:
        return self.id.removeprefix(STREAM_PREFIX)

    @classmethod
    def register(
        cls, *, room_id: str, name: str, grade: Grade, site: str, registered_at: datetime
    ) -> Room:
        check_pattern("room_id", room_id, ROOM_ID_PATTERN)
        check_text("name", name)
        check_text("site", site)
        room = cls(cls.stream_for(room_id))
        room._record(
            RoomRegistered(
                room_id=room_id, name=name, grade=grade, site=site, registered_at=registered_at
            )
        )
        return room

    def info(self) -> RoomRegistered:
        if self.registered is None:
            raise NotFound("room-not-found", f"no room {self.room_id!r} in the register")
        return self.registered

    def record_result(
        self,
        *,
        result_id: str,
        sample_id: str,
        sample_type: str,
        location: str,
        sampled_at: datetime,
        read_at: datetime,
        occupancy: Occupancy | None,
        value: float,
        unit: str,
        comment: str | None,
        programme: EmProgramme,
        recorded_at: datetime,
        late: bool,
    ) -> EmResultRecorded:
        """Classify and record a result (422 naming the field for a sample type the
        programme does not know, a unit not its own, a particle count without the room's
        occupancy, a reading before the sampling; 409 for a sample recorded already)."""
        info = self.info()
        check_pattern("sample_id", sample_id, SAMPLE_ID_PATTERN)
        check_text("location", location)
        check_value(value)
        recorded_unit = programme.unit_of(sample_type, unit)
        limit = programme.limit_for(info.grade, sample_type, occupancy)
        if read_at < sampled_at:
            raise DomainError(
                "read-before-sampling",
                f"read_at {read_at.isoformat()} is before sampled_at {sampled_at.isoformat()}",
                field="read_at",
            )
        if sample_id in self.samples:
            raise Conflict(
                "em-sample-already-recorded",
                f"sample {sample_id} of room {self.room_id} has a result already: correct it "
                "instead",
                field="sample_id",
                result_id=self.samples[sample_id],
            )
        event = EmResultRecorded(
            result_id=result_id,
            sample_id=sample_id,
            sample_type=sample_type,
            location=location,
            sampled_at=sampled_at,
            read_at=read_at,
            occupancy=occupancy,
            value=value,
            unit=recorded_unit,
            grade=info.grade,
            level=classify(value, limit),
            limit=limit,
            edition=programme.edition,
            config_version=programme.config_version,
            trend_rule=programme.trend,
            impact_from=sampled_at - programme.impact_window,
            impact_to=sampled_at + programme.impact_window,
            comment=comment,
            recorded_at=recorded_at,
            late=late,
        )
        self._record(event)
        return event

    def result(self, result_id: str) -> EmResult:
        found = self.results.get(result_id)
        if found is None:
            raise NotFound("em-result-not-found", f"no result {result_id!r} in {self.room_id}")
        return found

    def correct_result(
        self,
        result_id: str,
        *,
        value: float,
        unit: str,
        reason: str,
        corrected_at: datetime,
    ) -> EmResultCorrected:
        """Correct a result's value (in the unit it was recorded in), with the reason."""
        self.info()
        current = self.result(result_id)
        recorded = current.recorded
        check_value(value)
        check_text("reason", reason, 2000)
        if unit != recorded.unit:
            raise DomainError(
                "unit-mismatch",
                f"result {result_id} is recorded in {recorded.unit}, not {unit!r}",
                field="unit",
                expected=recorded.unit,
            )
        if value == current.value:
            raise Conflict("em-result-unchanged", f"result {result_id} is {value:g} already")
        event = EmResultCorrected(
            result_id=result_id,
            old_value=current.value,
            new_value=value,
            old_level=current.level,
            new_level=classify(value, recorded.limit),
            reason=reason,
            corrected_at=corrected_at,
        )
        self._record(event)
        return event

    def apply(self, event: DomainEvent) -> None:
        match event:
            case RoomRegistered():
                self.registered = event
            case EmResultRecorded():
                self.results[event.result_id] = EmResult(event)
                self.samples[event.sample_id] = event.result_id
            case EmResultCorrected():
                self.results[event.result_id].corrections.append(event)
            case _:
                raise TypeError(f"a room does not apply {type(event).__name__}")
