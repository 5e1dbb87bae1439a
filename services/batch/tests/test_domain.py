"""The domain rules, without I/O."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from v2v_batch.domain import (
    STEP_ORDER,
    ApheresisMaterial,
    Batch,
    BatchStatus,
    LotStatus,
    Operator,
    ProductSpec,
    Source,
    Step,
    StepValues,
)
from v2v_batch.domain.events import LotRejected, StepRecorded
from v2v_runtime.errors import Conflict, DomainError, NotFound

SPEC = ProductSpec(
    entry="default",
    config_version="v1",
    lot_shelf_life_days=365,
    min_harvest_viability_pct=70,
    max_bags_per_lot=10,
)
T = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
WHO = Operator(user_id="u1", role="operator")
CHECKER = Operator(user_id="u2", role="manufacturing-supervisor")
VERIFIED = SPEC.model_copy(update={"verified_steps": (Step.TRANSDUCTION, Step.HARVEST)})


def new_batch(source: Source = Source.FRESH_APHERESIS, spec: ProductSpec = SPEC) -> Batch:
    return Batch.open(
        "b-1",
        coi="CHA1B2C26000123",
        manufacturing_site="SITE",
        source=source,
        apheresis_unit_id="U1",
        din="G123498654321",
        attempt=1 if source is Source.FRESH_APHERESIS else 2,
        product_code=None,
        spec=spec,
        opened_at=T,
        opened_by=WHO,
        previous_lot_id=None if source is Source.FRESH_APHERESIS else "lot-0",
    )


def record(batch: Batch, step: Step, by: Operator = WHO, **values: Any) -> None:
    i = STEP_ORDER.index(step)
    entry: dict[str, Any] = {
        "started_at": T + timedelta(days=i),
        "ended_at": T + timedelta(days=i, hours=2),
    }
    if step is Step.HARVEST:
        entry["viability_pct"] = 90.0
    entry |= values
    batch.record_step(
        StepValues(step=step, **entry),
        recorded_at=NOW,
        performed_by=by,
        signature_id=f"sig-{step.value}",
    )


@pytest.mark.requirement("21CFR11.10(f)")
def test_steps_follow_the_fixed_order() -> None:
    batch = new_batch()
    assert batch.status is BatchStatus.OPEN
    assert batch.next_step is Step.SELECTION
    with pytest.raises(Conflict) as exc:
        record(batch, Step.ACTIVATION)
    assert exc.value.code == "step-out-of-order"
    for step in STEP_ORDER:
        record(batch, step)
        with pytest.raises(Conflict):
            record(batch, step)
    assert batch.next_step is None
    assert batch.steps_done == list(STEP_ORDER)
    assert batch.status is BatchStatus.IN_PROCESS
    assert len(batch.pending) == 1 + len(STEP_ORDER)


def test_selection_defaults_retained_aliquots_to_zero() -> None:
    batch = new_batch()
    record(batch, Step.SELECTION)
    assert batch.steps[Step.SELECTION].retained_aliquots == 0


@pytest.mark.requirement("EU-Annex11.6")
@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"ended_at": T - timedelta(seconds=1)}, "step-ends-before-it-starts"),
        ({"ended_at": NOW + timedelta(seconds=1)}, "step-ends-in-the-future"),
        ({"viability_pct": 100.01}, "viability-out-of-range"),
        ({"viability_pct": float("nan")}, "viability-out-of-range"),
        ({"viable_cell_count": -1.0}, "viable-cell-count-invalid"),
        ({"retained_aliquots": -1}, "retained-aliquots-invalid"),
        ({"equipment_id": ""}, "invalid-equipment-id"),
    ],
)
def test_step_values_are_checked(values: dict[str, Any], code: str) -> None:
    batch = new_batch()
    with pytest.raises(DomainError) as exc:
        record(batch, Step.SELECTION, **values)
    assert exc.value.status == 422
    assert exc.value.code == code
    assert batch.steps == {}


def test_harvest_below_minimum_viability_is_recorded_and_flagged() -> None:
    batch = new_batch()
    for step in STEP_ORDER[: STEP_ORDER.index(Step.HARVEST)]:
        record(batch, step)
    record(batch, Step.HARVEST, viability_pct=69.5)
    [flag] = batch.steps[Step.HARVEST].flags
    assert flag.code == "viability-below-minimum"


def test_lot_after_cryopreservation_expires_after_shelf_life() -> None:
    batch = new_batch()
    with pytest.raises(Conflict):
        batch.produce_lot(
            new_id=lambda: "x",
            bag_count=1,
            total_viable_cells=1e8,
            viability_pct=90,
            retained_aliquots_remaining=0,
        )
    for step in STEP_ORDER:
        record(batch, step)
    n = itertools.count(1)
    lot = batch.produce_lot(
        new_id=lambda: f"id-{next(n)}",
        bag_count=2,
        total_viable_cells=1e8,
        viability_pct=90,
        retained_aliquots_remaining=1,
    )
    cryo_end = T + timedelta(days=6, hours=2)
    assert (lot.lot_id, lot.bag_ids) == ("id-1", ("id-2", "id-3"))
    assert lot.produced_at == cryo_end
    assert lot.expires_at == cryo_end + timedelta(days=365)
    assert lot.status is LotStatus.QUARANTINED
    assert batch.status is BatchStatus.LOT_PRODUCED
    with pytest.raises(Conflict):
        record(batch, Step.CRYOPRESERVATION)

    fail = batch.record_manufacturing_failure
    assert fail("id-1", reason="bag leak", deviation_id=None, failed_at=NOW)
    assert not fail("id-1", reason="bag leak", deviation_id=None, failed_at=NOW)
    assert batch.status is BatchStatus.MANUFACTURING_FAILED
    assert batch.lot is not None and batch.lot.status is LotStatus.MANUFACTURING_FAILED
    with pytest.raises(NotFound):
        fail("id-9", reason="bag leak", deviation_id=None, failed_at=NOW)
    replayed = Batch.replay(batch.id, batch.pending)
    assert replayed.lot == batch.lot
    assert replayed.steps == batch.steps
    # a stream from before issue 16, rejected: still read as it was, and not failed again
    produced = batch.pending[:-1]
    old = LotRejected(lot_id="id-1", reason="OOS", deviation_id="DEV-1", rejected_at=NOW)
    rejected = Batch.replay(batch.id, [*produced, old])
    assert rejected.status is BatchStatus.LOT_REJECTED
    assert rejected.lot is not None and rejected.lot.rejection_reason == "OOS"
    assert not rejected.record_manufacturing_failure(
        "id-1", reason="bag leak", deviation_id=None, failed_at=NOW
    )


def test_bag_count_is_bounded_by_configuration() -> None:
    batch = new_batch()
    for step in STEP_ORDER:
        record(batch, step)
    for bags in (0, 11):
        with pytest.raises(DomainError) as exc:
            batch.produce_lot(
                new_id=lambda: "x",
                bag_count=bags,
                total_viable_cells=1e8,
                viability_pct=90,
                retained_aliquots_remaining=0,
            )
        assert exc.value.code == "bag-count-out-of-range"


def test_material_tracks_retained_aliquots_per_unit() -> None:
    material = ApheresisMaterial.new("U1")
    assert material.id == "material-U1"
    material.use_fresh(coi="CH1", batch_id="b-1", attempt=1)
    with pytest.raises(Conflict):
        material.use_retained_aliquot(coi="CH1", batch_id="b-2", attempt=2, previous_lot_id="l")
    material.retain(batch_id="b-1", count=2)
    material.use_retained_aliquot(coi="CH1", batch_id="b-2", attempt=2, previous_lot_id="l")
    assert (material.retained, material.consumed, material.remaining) == (2, 1, 1)
    assert material.batch_for(2) == "b-2"
    with pytest.raises(Conflict):  # that attempt has its batch already
        material.use_retained_aliquot(coi="CH1", batch_id="b-3", attempt=2, previous_lot_id="l")
    with pytest.raises(Conflict):  # a batch from retained material retains nothing
        material.retain(batch_id="b-2", count=1)
    with pytest.raises(Conflict) as exc:
        material.use_fresh(coi="CH2", batch_id="b-4", attempt=3)
    assert exc.value.code == "chain-of-identity-mismatch"
    replayed = ApheresisMaterial.replay(material.id, material.pending)
    assert replayed.remaining == 1 and replayed.batches == material.batches


def test_retained_source_needs_the_previous_lot() -> None:
    with pytest.raises(DomainError):
        Batch.open(
            "b",
            coi="CHA1B2C26000123",
            manufacturing_site="S",
            source=Source.RETAINED_APHERESIS,
            apheresis_unit_id="U1",
            din="D",
            attempt=2,
            product_code=None,
            spec=SPEC,
            opened_at=T,
            opened_by=WHO,
        )


def produce(batch: Batch) -> None:
    batch.produce_lot(
        new_id=lambda: "lot",
        bag_count=1,
        total_viable_cells=1e8,
        viability_pct=90,
        retained_aliquots_remaining=0,
    )


def test_check_step_refuses_what_record_step_would_and_records_nothing() -> None:
    batch = new_batch()
    with pytest.raises(Conflict):
        batch.check_step(StepValues(Step.HARVEST, T, T), recorded_at=NOW)
    batch.check_step(StepValues(Step.SELECTION, T, T), recorded_at=NOW)
    assert batch.steps == {} and len(batch.pending) == 1  # only BatchOpened


@pytest.mark.requirement("21CFR11.10(g)", "EU-PartIV.6.4", "EU-Annex11.6")
def test_a_second_person_verifies_the_configured_steps_before_the_lot() -> None:
    batch = new_batch(spec=VERIFIED)
    for step in STEP_ORDER:
        record(batch, step)
    assert batch.steps[Step.HARVEST].performed_by == WHO
    assert batch.steps[Step.HARVEST].signature_id == "sig-harvest"
    assert batch.unverified_steps == [Step.TRANSDUCTION, Step.HARVEST]
    with pytest.raises(Conflict) as exc:
        produce(batch)
    assert (exc.value.code, exc.value.extra["steps"]) == (
        "unverified-steps",
        ["transduction", "harvest"],
    )
    with pytest.raises(DomainError) as refused:
        batch.verify_step(Step.HARVEST, verifier=WHO, verified_at=NOW, signature_id="s")
    assert (refused.value.status, refused.value.code) == (403, "verification-by-performer")
    # the same person in another role is still the performer
    same = Operator(user_id=WHO.user_id, role="manufacturing-supervisor")
    with pytest.raises(DomainError):
        batch.verify_step(Step.HARVEST, verifier=same, verified_at=NOW, signature_id="s")
    for step in (Step.TRANSDUCTION, Step.HARVEST):
        done = batch.verify_step(step, verifier=CHECKER, verified_at=NOW, signature_id=f"v-{step}")
        assert (done.verified_by, done.verified_at) == (CHECKER, NOW)
    with pytest.raises(Conflict) as again:
        batch.verify_step(Step.HARVEST, verifier=CHECKER, verified_at=NOW, signature_id="v")
    assert again.value.code == "step-already-verified"
    # a step the configuration does not name may be verified too
    batch.verify_step(Step.SELECTION, verifier=CHECKER, verified_at=NOW, signature_id="v-s")
    assert batch.unverified_steps == []
    produce(batch)
    with pytest.raises(Conflict) as closed:
        batch.check_verification(Step.EXPANSION)
    assert closed.value.code == "lot-already-produced"
    replayed = Batch.replay(batch.id, batch.pending)
    assert replayed.steps == batch.steps


def test_only_a_recorded_step_of_a_known_performer_is_verified() -> None:
    batch = new_batch(spec=VERIFIED)
    with pytest.raises(Conflict) as exc:
        batch.check_verification(Step.SELECTION)
    assert exc.value.code == "step-not-recorded"
    # a step recorded before steps were signed names no performer
    legacy = StepRecorded(
        step=Step.SELECTION,
        equipment_id=None,
        started_at=T,
        ended_at=T,
        viable_cell_count=None,
        viability_pct=None,
        retained_aliquots=0,
        recorded_at=NOW,
    )
    replayed = Batch.replay(batch.id, [*batch.pending, legacy])
    with pytest.raises(Conflict) as unknown:
        replayed.check_verification(Step.SELECTION)
    assert unknown.value.code == "step-performer-unknown"


def test_batches_opened_before_verification_need_none() -> None:
    batch = new_batch()  # its snapshot names no verified steps
    for step in STEP_ORDER:
        record(batch, step)
    assert batch.unverified_steps == []
    produce(batch)
