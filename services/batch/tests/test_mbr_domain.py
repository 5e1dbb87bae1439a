"""The pure rules of master batch records and of executing a batch from one (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from v2v_batch.domain import Batch, Operator, ProductSpec, Source
from v2v_batch.domain.entries import StepEntry, ValueEntry, checked_value, hold_exceeded
from v2v_batch.domain.execution_events import Disposition, UsedEquipment, UsedMaterial
from v2v_batch.domain.mbr import MasterBatchRecord, MbrStatus
from v2v_batch.domain.mbr_content import MbrContent, Parameter, ParameterType
from v2v_runtime.errors import Conflict, DomainError, NotFound

from .mbr_support import CONTENT, GOOD, USED

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
SUPERVISOR = Operator(user_id="u-sup", role="manufacturing-supervisor")
QA = Operator(user_id="u-qa", role="qa-reviewer")
CC_QA = Operator(user_id="u-qc-qa", role="qa-reviewer")  # approved the change control in QC
OPERATOR = Operator(user_id="u-op", role="cell-therapy-specialist")
SPEC = ProductSpec(
    entry="default",
    config_version="t-1",
    lot_shelf_life_days=365,
    min_harvest_viability_pct=70,
    max_bags_per_lot=4,
)
MBR = MbrContent.model_validate(CONTENT)


def number(**limits: float) -> Parameter:
    return Parameter(name="x", label="X", type=ParameterType.NUMBER, unit="%", **limits)


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        (ParameterType.NUMBER, 5, 5.0),
        (ParameterType.INTEGER, 5.0, 5),
        (ParameterType.BOOLEAN, False, False),
        (ParameterType.TEXT, "ok", "ok"),
    ],
)
def test_a_value_of_the_parameters_type_is_kept_typed(
    type_: ParameterType, value: object, expected: object
) -> None:
    p = Parameter(name="x", label="X", type=type_)
    entered = checked_value(p, ValueEntry(value=value), "values.x")  # type: ignore[arg-type]
    assert entered.value == expected and type(entered.value) is type(expected)


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        (ParameterType.NUMBER, True),
        (ParameterType.NUMBER, "5"),
        (ParameterType.INTEGER, 5.5),
        (ParameterType.BOOLEAN, 1),
        (ParameterType.TEXT, "  "),
        (ParameterType.TEXT, 3),
    ],
)
def test_a_value_of_another_type_is_refused_naming_the_field(
    type_: ParameterType, value: object
) -> None:
    p = Parameter(name="x", label="X", type=type_)
    with pytest.raises(DomainError) as refused:
        checked_value(p, ValueEntry(value=value), "values.x")  # type: ignore[arg-type]
    assert (refused.value.code, refused.value.extra["field"]) == (
        "value-wrong-type",
        "values.x.value",
    )


def test_limits_are_inclusive_and_a_value_without_limits_is_not_compared() -> None:
    p = number(lower_limit=70, upper_limit=100)
    assert checked_value(p, ValueEntry(70, "%"), "v").within_limits is True
    assert checked_value(p, ValueEntry(69.9, "%"), "v").within_limits is False
    assert checked_value(number(), ValueEntry(1, "%"), "v").within_limits is None
    with pytest.raises(DomainError, match="no unit"):
        checked_value(p, ValueEntry(80, None), "v")


def test_a_hold_is_exceeded_only_beyond_the_mbr_limit() -> None:
    freezing = MBR.steps[-1]
    assert hold_exceeded(freezing, T0, T0 + timedelta(minutes=60)) is None
    assert hold_exceeded(freezing, T0, T0 + timedelta(minutes=61)) == timedelta(minutes=61)
    assert hold_exceeded(MBR.steps[0], T0, T0 + timedelta(days=9)) is None  # no hold set


def approve_change(mbr: MasterBatchRecord, version: int, cc: str) -> bool:
    return mbr.note_change_control(version, cc, approved_by=CC_QA, approved_at=T0, at=T0)


def test_the_lifecycle_of_versions() -> None:
    mbr = MasterBatchRecord.new("S7TEST", "SITE-1")
    mbr.draft(MBR, by=SUPERVISOR, at=T0)
    with pytest.raises(Conflict, match="draft, not approved"):
        mbr.make_effective(1, by=QA, at=T0)
    with pytest.raises(NotFound):
        mbr.submit(2, by=SUPERVISOR, at=T0)
    mbr.submit(1, by=SUPERVISOR, at=T0)
    with pytest.raises(DomainError, match="another person") as refused:
        mbr.approve(1, by=SUPERVISOR, at=T0, signature_id="s")
    assert refused.value.status == 403
    mbr.approve(1, by=QA, at=T0, signature_id="s-1")
    assert not mbr.ever_effective
    with pytest.raises(Conflict, match="change control") as missing:
        mbr.make_effective(1, by=QA, at=T0)  # QA's approval alone is not enough
    assert missing.value.code == "change-control-missing"
    assert not mbr.take_effect(1, by=QA, at=T0)
    assert approve_change(mbr, 1, "CC-1")
    assert mbr.take_effect(1, by=CC_QA, at=T0)
    assert not mbr.make_effective(1, by=QA, at=T0)  # effective through it already
    assert (mbr.versions[1].status, mbr.versions[1].change_control_id) == (
        MbrStatus.EFFECTIVE,
        "CC-1",
    )
    # version 2: its change control approved before it is even drafted
    assert approve_change(mbr, 2, "CC-2") and not approve_change(mbr, 2, "CC-2b")
    mbr.draft(MBR.model_copy(update={"title": "v2"}), by=SUPERVISOR, at=T0)
    mbr.submit(2, by=SUPERVISOR, at=T0)
    assert not mbr.take_effect(2, by=QA, at=T0)  # in review: not yet
    mbr.approve(2, by=QA, at=T0, signature_id="s-2")
    assert mbr.take_effect(2, by=QA, at=T0 + timedelta(days=1))
    assert [v.status for v in mbr.versions.values()] == [MbrStatus.SUPERSEDED, MbrStatus.EFFECTIVE]
    assert mbr.versions[2].change_control_id == "CC-2"
    assert not approve_change(mbr, 1, "CC-1-again")  # superseded: nothing to act on
    with pytest.raises(Conflict):
        mbr.retire(1, "old", by=QA, at=T0)  # superseded: already out of use
    mbr.retire(2, "withdrawn", by=QA, at=T0)
    assert mbr.effective is None and mbr.ever_effective


def opened() -> Batch:
    batch = Batch.open(
        "b-1",
        coi="CHA1B2C26000123",
        manufacturing_site="SITE-1",
        source=Source.FRESH_APHERESIS,
        apheresis_unit_id="U-1",
        din="G123498654321",
        attempt=1,
        product_code="S7TEST",
        spec=SPEC,
        opened_at=T0,
        opened_by=OPERATOR,
    )
    batch.pin_mbr(product_code="S7TEST", site="SITE-1", version=1, content=MBR)
    return batch


def perform(
    batch: Batch, step_id: str, start: datetime, values: dict[str, ValueEntry] | None = None
) -> list[str]:
    ids = (f"exc-{i}" for i in count(1))
    entry = StepEntry(
        step_id=step_id,
        room="R-1",
        started_at=start,
        ended_at=start + timedelta(minutes=30),
        values=values
        if values is not None
        else {n: ValueEntry(v["value"], v.get("unit")) for n, v in GOOD[step_id].items()},
        materials=tuple(UsedMaterial(**m) for m in USED.get(step_id, {}).get("materials", [])),
        equipment=tuple(UsedEquipment(**e) for e in USED.get(step_id, {}).get("equipment", [])),
    )
    raised = batch.perform_step(
        MBR,
        entry,
        now=start + timedelta(hours=1),
        late=False,
        performed_by=OPERATOR,
        signature_id=f"sig-{step_id}",
        new_id=lambda: next(ids),
    )
    return [r.exception_id for r in raised]


def test_exceptions_block_the_review_until_dispositioned_corrections_void_verification() -> None:
    batch = opened()
    perform(batch, "receipt", T0 + timedelta(hours=1))
    perform(batch, "selection", T0 + timedelta(hours=2))
    low = {"viability_pct": ValueEntry(60.0, "%"), "method": ValueEntry("manual")}
    [exception] = perform(batch, "harvest", T0 + timedelta(hours=3), low)
    perform(batch, "freezing", T0 + timedelta(hours=4))
    with pytest.raises(Conflict, match="not verified"):
        batch.check_review(MBR)
    batch.verify_mbr_step(MBR, "harvest", verifier=SUPERVISOR, at=T0, signature_id="v")
    with pytest.raises(Conflict) as refused:
        batch.check_review(MBR)
    assert refused.value.code == "exceptions-undispositioned"
    batch.correct_entry(
        MBR,
        "harvest",
        "viability_pct",
        ValueEntry(61.0, "%"),
        "recount",
        by=OPERATOR,
        at=T0,
        signature_id="c",
        new_id=lambda: "exc-2",
    )
    assert batch.unverified_mbr_steps(MBR) == ["harvest"]
    assert batch.performed["harvest"].value("viability_pct").value == 61.0  # type: ignore[union-attr]
    assert batch.performed["harvest"].corrections[0].old.value == 60.0
    with pytest.raises(DomainError, match="performed or corrected"):
        batch.verify_mbr_step(MBR, "harvest", verifier=OPERATOR, at=T0, signature_id="v2")
    batch.verify_mbr_step(MBR, "harvest", verifier=SUPERVISOR, at=T0, signature_id="v2")
    for exception_id in (exception, "exc-2"):
        batch.disposition_exception(
            exception_id,
            Disposition.PRODUCT_IMPACT,
            "below specification",
            None,
            by=QA,
            at=T0,
            signature_id=f"d-{exception_id}",
        )
    reviewed = batch.review_record(MBR, by=QA, at=T0, signature_id="r")
    assert (reviewed.exceptions, reviewed.corrections, reviewed.late_entries) == (2, 1, 0)


def test_a_batch_from_retained_material_retains_nothing_again() -> None:
    batch = opened()
    batch.source = Source.RETAINED_APHERESIS
    perform(batch, "receipt", T0 + timedelta(hours=1))
    with pytest.raises(DomainError) as refused:
        perform(batch, "selection", T0 + timedelta(hours=2))
    assert refused.value.code == "no-retention-from-retained-material"
