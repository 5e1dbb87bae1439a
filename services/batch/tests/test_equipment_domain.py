"""The equipment and training rules without I/O: status at a time from what was in force
then, the impact window of an out-of-tolerance finding, and SOP lapses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from v2v_batch.domain import Operator
from v2v_batch.domain.equipment import Instrument
from v2v_batch.domain.equipment_events import (
    CalibrationRecorded,
    EquipmentStatus,
    Schedule,
    Tolerance,
)
from v2v_batch.domain.equipment_rules import status_of
from v2v_batch.domain.training import SopDocument, Training
from v2v_batch.domain.training_events import QualificationKind
from v2v_runtime.errors import Conflict, DomainError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BY = Operator(user_id="u-1", role="cell-therapy-specialist")
S = EquipmentStatus


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def instrument(maintenance: bool = False) -> Instrument:
    inst = Instrument.register(
        equipment_id="BSC-07",
        equipment_type="biosafety-cabinet",
        name="Class II BSC",
        site="site-1",
        location="grade-B room 1.02",
        calibration=Schedule(interval_days=180, due_at=day(100)),
        maintenance=Schedule(interval_days=30, due_at=day(50)) if maintenance else None,
        operator_qualification=None,
        in_service_from=day(0),
        registered_at=day(0),
    )
    inst._mark_saved()
    return inst


def used(inst: Instrument, batch_id: str, at: float, step: str = "selection") -> None:
    inst.log_use(
        batch_id=batch_id,
        coi="CHA1B2C26000123",
        step=step,
        used_at=day(at),
        used_by=BY,
        recorded_at=day(at),
        late=False,
    )


def calibrated(
    inst: Instrument, at: float, found: Tolerance, left: Tolerance | None = None
) -> CalibrationRecorded:
    return inst.record_calibration(
        calibration_id=f"cal-{at}",
        performed_at=day(at),
        as_found=found,
        as_left=left or found,
        certificate_ref="CERT",
        next_due_at=None,
        notes="",
        recorded_at=day(at),
        late=False,
    )


@pytest.mark.parametrize(
    ("at", "out", "calibration", "maintenance", "expected"),
    [
        (day(1), False, day(10), day(20), S.IN_SERVICE),
        (day(-1), False, day(10), None, S.OUT_OF_SERVICE),  # before it entered service
        (day(1), True, day(10), None, S.OUT_OF_SERVICE),
        (day(10), False, day(10), day(5), S.CALIBRATION_DUE),  # due at that instant
        (day(6), False, day(10), day(5), S.MAINTENANCE_DUE),
        (day(11), True, day(10), day(5), S.OUT_OF_SERVICE),  # out of service comes first
    ],
)
def test_status_of_an_instrument_at_a_time(
    at: datetime, out: bool, calibration: datetime, maintenance: datetime | None, expected: S
) -> None:
    assert (
        status_of(
            at,
            in_service_from=day(0),
            out_of_service=out,
            calibration_due=calibration,
            maintenance_due=maintenance,
        )
        is expected
    )


def test_status_in_the_past_follows_what_was_in_force_then() -> None:
    inst = instrument(maintenance=True)
    calibrated(inst, 90, Tolerance.IN_TOLERANCE)  # next due day 270
    inst.remove_from_service("broken", day(120))
    inst.return_to_service("fixed", day(121))
    assert inst.status_at(day(89)) is S.MAINTENANCE_DUE  # PM was due at day 50
    assert inst.status_at(day(101)) is S.MAINTENANCE_DUE
    inst.record_maintenance(
        maintenance_id="pm-1",
        performed_at=day(60),
        description="PM",
        next_due_at=None,
        recorded_at=day(60),
        late=False,
    )
    assert inst.status_at(day(59)) is S.MAINTENANCE_DUE and inst.status_at(day(61)) is S.IN_SERVICE
    assert inst.status_at(day(120.5)) is S.OUT_OF_SERVICE
    assert inst.status_at(day(122)) is S.MAINTENANCE_DUE  # returned; the next PM was due at 90
    assert inst.due_at(day(95)) == (day(270), day(90))


def test_the_impact_window_runs_from_the_last_calibration_that_left_it_in_tolerance() -> None:
    inst = instrument()
    used(inst, "b-early", 5)
    calibrated(inst, 10, Tolerance.OUT_OF_TOLERANCE, Tolerance.IN_TOLERANCE)  # adjusted
    used(inst, "b-1", 20)
    used(inst, "b-2", 30, "harvest")
    used(inst, "b-1", 31, "formulation")
    found = calibrated(inst, 40, Tolerance.OUT_OF_TOLERANCE)  # and left so
    assert found.since == day(10)
    assert [(b.batch_id, b.steps) for b in found.affected] == [
        ("b-1", ("selection", "formulation")),
        ("b-2", ("harvest",)),
    ]
    used_late = day(45)  # recorded late: used while it was (unknowingly) out of tolerance
    assert inst.status_at(used_late) is S.OUT_OF_SERVICE
    with pytest.raises(Conflict):
        inst.return_to_service("try", day(41))
    passed = calibrated(inst, 50, Tolerance.IN_TOLERANCE)
    assert passed.affected == () and passed.next_due_at == day(50 + 180)


def test_the_first_finding_reaches_back_to_the_start_and_stops_at_an_adjustment() -> None:
    inst = instrument()
    used(inst, "b-1", 5)
    used(inst, "b-2", 12)  # after the adjustment at day 10: not affected
    found = inst.record_calibration(
        calibration_id="c",
        performed_at=day(10),
        as_found=Tolerance.OUT_OF_TOLERANCE,
        as_left=Tolerance.IN_TOLERANCE,
        certificate_ref="C",
        next_due_at=None,
        notes="",
        recorded_at=day(13),
        late=True,
    )
    assert found.since is None and [b.batch_id for b in found.affected] == ["b-1"]


def test_refusals_name_the_rule() -> None:
    inst = instrument()
    with pytest.raises(DomainError) as wrong:
        inst.check_use("centrifuge", day(1), "site-1")
    assert wrong.value.code == "equipment-type-mismatch"
    with pytest.raises(DomainError) as overdue:
        inst.check_use("biosafety-cabinet", day(100), "site-1")
    assert overdue.value.code == "calibration-overdue"
    assert overdue.value.extra["equipment_status"] == "calibration-due"
    inst.check_use(None, day(99), "site-1")


def test_an_sop_version_lapses_at_the_next_versions_training_due_time() -> None:
    doc = SopDocument(SopDocument.stream_for("SOP-1"))
    doc.register_version(
        version=1, title="t", effective_at=day(0), training_due_at=day(0), registered_at=day(0)
    )
    doc.register_version(
        version=3, title="t", effective_at=day(30), training_due_at=day(20), registered_at=day(1)
    )
    # version 3 is pending its change control: training on version 1 does not lapse yet
    assert doc.lapses_at(1) is None and doc.in_force(3) is None

    def approve(version: int, cc: str) -> bool:
        by = ("u-qa", "qa-reviewer")
        return doc.note_change_control(version, cc, approved_by=by, approved_at=day(2), at=day(2))

    assert approve(3, "CC-3") and not approve(3, "CC-3-again")  # one per version
    assert doc.lapses_at(1) == day(20) and doc.lapses_at(3) is None
    assert doc.in_force(3) is not None and doc.approvals[3].change_control_id == "CC-3"
    assert approve(4, "CC-4") and doc.in_force(4) is None  # approved before it is registered


def test_a_practical_qualification_may_expire() -> None:
    training = Training(Training.stream_for("u-2"))
    training.grant(
        qualification_id="q",
        kind=QualificationKind.PRACTICAL,
        code="harvest",
        sop=None,
        valid_from=day(0),
        expires_at=day(10),
        reference="r",
        recorded_at=day(0),
        late=False,
    )
    assert training.check("harvest", day(9), lambda d, v: None).qualification_id == "q"
    with pytest.raises(DomainError) as refused:
        training.check("harvest", day(10), lambda d, v: None)
    assert refused.value.status == 403
    with pytest.raises(DomainError):
        training.grant(
            qualification_id="q2",
            kind=QualificationKind.PRACTICAL,
            code="harvest",
            sop=None,
            valid_from=day(5),
            expires_at=day(5),
            reference="r",
            recorded_at=day(5),
            late=False,
        )
