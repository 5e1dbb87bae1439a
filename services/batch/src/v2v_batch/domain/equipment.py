"""The Instrument aggregate: one piece of equipment in the register (type, id, site and
location) with its calibration and maintenance schedules, its status at any time, and its
usage log.

Status at a time ``t`` (what a use at ``t`` is checked against): out of service when taken
out of service, or left out of tolerance by its last calibration, at ``t``; else calibration
due when ``t`` is at or past the calibration due time then in force; else maintenance due
likewise; else in service. Time passing makes an instrument due by itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError, NotFound

from .checks import check_pattern, check_text
from .equipment_events import (
    AffectedBatch,
    CalibrationRecorded,
    EquipmentRegistered,
    EquipmentRelocated,
    EquipmentStatus,
    EquipmentUsed,
    MaintenanceRecorded,
    RemovedFromService,
    ReturnedToService,
    Schedule,
    Tolerance,
    UseRefused,
)
from .equipment_rules import (
    Timeline,
    batches_used,
    check_next_due,
    check_performed,
    in_force,
    refusal,
    status_of,
)
from .events import Operator

STREAM_PREFIX = "equipment-"
EQUIPMENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
EQUIPMENT_TYPE_PATTERN = r"^[a-z][a-z0-9-]{0,63}$"  # e.g. centrifuge, biosafety-cabinet


class Instrument(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.registered: EquipmentRegistered | None = None
        self.location = ""
        self.calibration_due: Timeline = []
        self.maintenance_due: Timeline = []
        self.tagged_out: list[tuple[datetime, bool, str]] = []  # (at, out?, reason)
        self.tolerance: list[tuple[datetime, Tolerance]] = []  # as left, from performed_at
        self.calibrations: list[CalibrationRecorded] = []
        self.maintenance: list[MaintenanceRecorded] = []
        self.uses: list[EquipmentUsed] = []
        self.refusals = 0

    @staticmethod
    def stream_for(equipment_id: str) -> str:
        return STREAM_PREFIX + equipment_id

    # --- commands -----------------------------------------------------------------------

    @classmethod
    def register(
        cls,
        *,
        equipment_id: str,
        equipment_type: str,
        name: str,
        site: str,
        location: str,
        calibration: Schedule,
        maintenance: Schedule | None,
        operator_qualification: str | None,
        in_service_from: datetime,
        registered_at: datetime,
    ) -> Instrument:
        check_pattern("equipment_id", equipment_id, EQUIPMENT_ID_PATTERN)
        check_pattern("equipment_type", equipment_type, EQUIPMENT_TYPE_PATTERN)
        for field, value in (("name", name), ("site", site), ("location", location)):
            check_text(field, value)
        inst = cls(cls.stream_for(equipment_id))
        inst._record(
            EquipmentRegistered(
                equipment_id=equipment_id,
                equipment_type=equipment_type,
                name=name,
                site=site,
                location=location,
                calibration=calibration,
                maintenance=maintenance,
                operator_qualification=operator_qualification,
                in_service_from=in_service_from,
                registered_at=registered_at,
            )
        )
        return inst

    def relocate(self, location: str, at: datetime) -> None:
        self.info()
        check_text("location", location)
        if location == self.location:
            raise Conflict("already-there", f"{self.equipment_id} is already at {location}")
        self._record(EquipmentRelocated(location=location, relocated_at=at))

    def record_calibration(
        self,
        *,
        calibration_id: str,
        performed_at: datetime,
        as_found: Tolerance,
        as_left: Tolerance,
        certificate_ref: str,
        next_due_at: datetime | None,
        notes: str,
        recorded_at: datetime,
        late: bool,
    ) -> CalibrationRecorded:
        """Found out of tolerance: the batches used since it was last left in tolerance are
        named (up to this calibration if it leaves the instrument in tolerance, else every
        use since). Left out of tolerance: out of service until a calibration leaves it in."""
        info = self.info()
        check_text("certificate_ref", certificate_ref)
        last = self.calibrations[-1].performed_at if self.calibrations else None
        check_performed(info, "calibration", performed_at, recorded_at, last)
        due = None
        if as_left is Tolerance.IN_TOLERANCE:
            due = next_due_at or performed_at + timedelta(days=info.calibration.interval_days)
            check_next_due("calibration", performed_at, due)
        since = self.last_left_in_tolerance
        affected: tuple[AffectedBatch, ...] = ()
        if as_found is Tolerance.OUT_OF_TOLERANCE:
            until = performed_at if as_left is Tolerance.IN_TOLERANCE else None
            affected = self.batches_used(since, until)
        event = CalibrationRecorded(
            calibration_id=calibration_id,
            performed_at=performed_at,
            as_found=as_found,
            as_left=as_left,
            certificate_ref=certificate_ref,
            next_due_at=due,
            notes=notes,
            recorded_at=recorded_at,
            late=late,
            since=since,
            affected=affected,
        )
        self._record(event)
        return event

    def record_maintenance(
        self,
        *,
        maintenance_id: str,
        performed_at: datetime,
        description: str,
        next_due_at: datetime | None,
        recorded_at: datetime,
        late: bool,
    ) -> MaintenanceRecorded:
        info = self.info()
        check_text("description", description, 2000)
        last = self.maintenance[-1].performed_at if self.maintenance else None
        check_performed(info, "maintenance", performed_at, recorded_at, last)
        due = next_due_at
        if due is None and info.maintenance is not None:
            due = performed_at + timedelta(days=info.maintenance.interval_days)
        if due is not None:
            check_next_due("maintenance", performed_at, due)
        event = MaintenanceRecorded(
            maintenance_id=maintenance_id,
            performed_at=performed_at,
            description=description,
            next_due_at=due,
            recorded_at=recorded_at,
            late=late,
        )
        self._record(event)
        return event

    def remove_from_service(self, reason: str, at: datetime) -> None:
        self.info()
        check_text("reason", reason, 2000)
        if self.is_tagged_out(at):
            raise Conflict("already-out-of-service", f"{self.equipment_id} is out of service")
        self._record(RemovedFromService(reason=reason, at=at))

    def return_to_service(self, reason: str, at: datetime) -> None:
        self.info()
        check_text("reason", reason, 2000)
        if self.left_out_of_tolerance(at):
            raise Conflict(
                "calibration-out-of-tolerance",
                f"{self.equipment_id} was left out of tolerance: it returns to service with "
                "a calibration that leaves it in tolerance",
            )
        if not self.is_tagged_out(at):
            raise Conflict("not-out-of-service", f"{self.equipment_id} is not out of service")
        self._record(ReturnedToService(reason=reason, at=at))

    def check_use(self, equipment_type: str | None, at: datetime, site: str) -> None:
        """Refuse a use at ``at`` at ``site`` (422, naming why) unless the instrument is of
        ``equipment_type`` (if given), at that site and in service then."""
        info = self.info()
        if equipment_type is not None and equipment_type != info.equipment_type:
            raise DomainError(
                "equipment-type-mismatch",
                f"{self.equipment_id} is a {info.equipment_type}, not a {equipment_type}",
                field="equipment_id",
            )
        if site != info.site:
            raise DomainError(
                "equipment-at-another-site",
                f"{self.equipment_id} belongs to site {info.site}, not {site}",
                field="equipment_id",
            )
        status = self.status_at(at)
        if status is EquipmentStatus.IN_SERVICE:
            return
        calibration_due, maintenance_due = self.due_at(at)
        code, reason = refusal(
            self.equipment_id, status, at, info.in_service_from, calibration_due, maintenance_due
        )
        raise DomainError(code, reason, field="equipment_id", equipment_status=status.value)

    def log_use(
        self,
        *,
        batch_id: str,
        coi: str,
        step: str,
        used_at: datetime,
        used_by: Operator,
        recorded_at: datetime,
        late: bool,
    ) -> EquipmentUsed:
        self.info()
        event = EquipmentUsed(
            batch_id=batch_id,
            coi=coi,
            step=step,
            used_at=used_at,
            used_by=used_by,
            recorded_at=recorded_at,
            late=late,
        )
        self._record(event)
        return event

    def refuse_use(
        self,
        refusal: DomainError,
        *,
        batch_id: str,
        coi: str,
        step: str,
        at: datetime,
        by: Operator,
        recorded_at: datetime,
    ) -> None:
        """Record a refused use (the control working): the refusal's code and reason."""
        self._record(
            UseRefused(
                batch_id=batch_id,
                coi=coi,
                step=step,
                at=at,
                code=refusal.code,
                reason=refusal.detail,
                by=by,
                recorded_at=recorded_at,
            )
        )

    # --- state --------------------------------------------------------------------------

    @property
    def equipment_id(self) -> str:
        return self.id.removeprefix(STREAM_PREFIX)

    def info(self) -> EquipmentRegistered:
        if self.registered is None:
            raise NotFound("equipment-not-found", f"no equipment {self.equipment_id!r}")
        return self.registered

    def is_tagged_out(self, at: datetime) -> bool:
        """Taken out of service (and not returned) at ``at``."""
        states = [out for since, out, _ in self.tagged_out if since <= at]
        return bool(states) and states[-1]

    def left_out_of_tolerance(self, at: datetime) -> bool:
        """The last calibration performed by ``at`` left it out of tolerance."""
        found = [t for since, t in self.tolerance if since <= at]
        return bool(found) and found[-1] is Tolerance.OUT_OF_TOLERANCE

    def status_at(self, at: datetime) -> EquipmentStatus:
        calibration_due, maintenance_due = self.due_at(at)
        return status_of(
            at,
            in_service_from=self.info().in_service_from,
            out_of_service=self.is_tagged_out(at) or self.left_out_of_tolerance(at),
            calibration_due=calibration_due,
            maintenance_due=maintenance_due,
        )

    def due_at(self, at: datetime) -> tuple[datetime | None, datetime | None]:
        """The calibration and maintenance due times in force at ``at``."""
        return in_force(self.calibration_due, at), in_force(self.maintenance_due, at)

    @property
    def last_left_in_tolerance(self) -> datetime | None:
        """When a calibration last left the instrument in tolerance (None: never)."""
        passed = [c for c in self.calibrations if c.as_left is Tolerance.IN_TOLERANCE]
        return passed[-1].performed_at if passed else None

    def batches_used(
        self, since: datetime | None, until: datetime | None
    ) -> tuple[AffectedBatch, ...]:
        """The usage log's batches with a use in ``since .. until`` (open ends: all)."""
        return batches_used(self.uses, since, until)

    def apply(self, event: DomainEvent) -> None:
        match event:
            case EquipmentRegistered():
                self.registered = event
                self.location = event.location
                since = event.in_service_from
                self.calibration_due.append((since, event.calibration.due_at))
                if event.maintenance is not None:
                    self.maintenance_due.append((since, event.maintenance.due_at))
            case EquipmentRelocated():
                self.location = event.location
            case CalibrationRecorded():
                self.calibrations.append(event)
                self.tolerance.append((event.performed_at, event.as_left))
                if event.next_due_at is not None:
                    self.calibration_due.append((event.performed_at, event.next_due_at))
            case MaintenanceRecorded():
                self.maintenance.append(event)
                if event.next_due_at is not None:
                    self.maintenance_due.append((event.performed_at, event.next_due_at))
            case RemovedFromService():
                self.tagged_out.append((event.at, True, event.reason))
            case ReturnedToService():
                self.tagged_out.append((event.at, False, event.reason))
            case EquipmentUsed():
                self.uses.append(event)
            case UseRefused():
                self.refusals += 1
            case _:
                raise TypeError(f"an instrument does not apply {type(event).__name__}")
