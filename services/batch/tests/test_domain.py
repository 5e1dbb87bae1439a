"""The domain rules, without I/O."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

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
)
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


def new_batch(source: Source = Source.FRESH_APHERESIS) -> Batch:
    return Batch.open(
        "b-1",
        coi="CHA1B2C26000123",
        manufacturing_site="SITE",
        source=source,
        apheresis_unit_id="U1",
        din="G123498654321",
        attempt=1 if source is Source.FRESH_APHERESIS else 2,
        product_code=None,
        spec=SPEC,
        opened_at=T,
        opened_by=WHO,
        previous_lot_id=None if source is Source.FRESH_APHERESIS else "lot-0",
    )


def record(batch: Batch, step: Step, **values: object) -> None:
    i = STEP_ORDER.index(step)
    kwargs: dict[str, object] = {
        "started_at": T + timedelta(days=i),
        "ended_at": T + timedelta(days=i, hours=2),
        "recorded_at": NOW,
    }
    if step is Step.HARVEST:
        kwargs["viability_pct"] = 90.0
    kwargs |= values
    batch.record_step(step=step, **kwargs)  # type: ignore[arg-type]


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
def test_step_values_are_checked(values: dict[str, object], code: str) -> None:
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

    assert batch.reject_lot("id-1", reason="OOS", deviation_id=None, rejected_at=NOW)
    assert not batch.reject_lot("id-1", reason="OOS", deviation_id=None, rejected_at=NOW)
    assert batch.status in {BatchStatus.LOT_REJECTED}
    with pytest.raises(NotFound):
        batch.reject_lot("id-9", reason="OOS", deviation_id=None, rejected_at=NOW)
    replayed = Batch.replay(batch.id, batch.pending)
    assert replayed.lot == batch.lot
    assert replayed.steps == batch.steps


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
