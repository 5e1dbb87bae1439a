"""The exceptional release aggregate's rules and the retained-material projection, without
I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from v2v_events.contracts.batch import MaterialSource
from v2v_events.contracts.exceptional_release import Region
from v2v_qc.domain.common import Forbidden, Who
from v2v_qc.domain.exceptional_release import ExceptionalRelease
from v2v_qc.domain.patient_center import PatientCenter
from v2v_qc.domain.retained_material import RetainedMaterial
from v2v_runtime.errors import Conflict, DomainError

AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
QA = Who(user_id="u-qa", role="qa-reviewer")
COORD = Who(user_id="u-coord", role="treatment-center-coordinator")


def assessed() -> ExceptionalRelease:
    xr = ExceptionalRelease.of("L-1")
    xr.record_request(
        coi="CHA1B2C26000123",
        site="MS-1",
        treatment_center="TC-1",
        physician_name="Dr A",
        physician_id="LIC-1",
        justification="no alternative",
        out_of_specification=True,
        by=COORD,
        at=AT,
    )
    xr.assess("acceptable", QA, AT)
    return xr


def release(xr: ExceptionalRelease, by: Who = QA, region: Region = Region.EU) -> None:
    xr.release(
        panel_id="P-1",
        result_authors=frozenset({"u-analyst"}),
        recovery_decided=True,
        region=region,
        site="MS-1",
        expanded_access_ref=None,
        reason="reviewed",
        by=by,
        at=AT,
    )


@pytest.mark.requirement("EU-PartIV.11.5")
def test_who_entered_a_result_does_not_release_and_the_clock_starts_at_the_infusion() -> None:
    xr = assessed()
    with pytest.raises(Forbidden) as refused:
        release(xr, Who(user_id="u-analyst", role="qa-reviewer"))
    assert refused.value.code == "release-by-result-author"
    with pytest.raises(Forbidden):
        release(xr, COORD)
    assert not xr.note_infusion("INF-1", AT)  # not released yet: nothing due
    release(xr)
    assert xr.note_infusion("INF-1", AT + timedelta(hours=1))
    assert not xr.note_infusion("INF-1", AT + timedelta(hours=2))  # once
    assert xr.due is not None and xr.due.due_at == AT + timedelta(hours=49)


def test_a_us_decision_needs_its_reference_and_owes_no_notification() -> None:
    xr = assessed()
    with pytest.raises(DomainError) as refused:
        release(xr, region=Region.US)
    assert refused.value.code == "expanded-access-reference-required"
    with pytest.raises(Conflict):
        ExceptionalRelease.of("L-2").check_request(out_of_specification=False)


def test_retained_material_counts_what_was_kept_less_what_was_used() -> None:
    m = RetainedMaterial.of("CHA1B2C26000123")
    assert m.remaining("APH-1") is None
    m.note_batch("c", "B-1", "APH-1", MaterialSource.FRESH_APHERESIS, AT)
    m.note_retained("c", "B-1", 2)
    assert not m.note_retained("c", "B-1", 2)  # a repeat changes nothing
    assert m.remaining("APH-1") == 2
    m.note_batch("c", "B-2", "APH-1", MaterialSource.RETAINED_APHERESIS, AT + timedelta(days=1))
    assert m.remaining("APH-1") == 1
    m.note_lot("c", "B-2", "L-2", 1)  # batch's count agrees
    assert m.remaining("APH-1") == 1
    m.note_batch("c", "B-3", "APH-1", MaterialSource.RETAINED_APHERESIS, AT + timedelta(days=2))
    assert m.remaining("APH-1") == 0
    with pytest.raises(Conflict) as none_left:
        m.require_remaining("APH-1", "L-2")
    assert none_left.value.code == "no-retained-material"


def test_the_physician_request_comes_from_the_patients_own_center() -> None:
    center = PatientCenter.of("CHA1B2C26000123")
    center.require_center("CHA1B2C26000123", "TC-2")  # enrolled before QC kept centers
    assert center.note("CHA1B2C26000123", "TC-1", "MS-1") is True
    assert center.note("CHA1B2C26000123", "TC-9", "MS-1") is False  # enrolled once
    center.require_center("CHA1B2C26000123", "TC-1")
    with pytest.raises(DomainError) as other:
        center.require_center("CHA1B2C26000123", "TC-2")
    assert (other.value.code, other.value.status, other.value.extra["field"]) == (
        "not-patients-treatment-center",
        422,
        "treatment_center",
    )
